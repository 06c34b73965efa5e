/**
 * Entry point of the benchmark: `npm run bench -- [flags]`, or directly
 * `node dist/bench/run.js`, `npx bun bench/run.ts`, `npx deno run -A bench/run.ts`.
 * Runs every selected engine on every selected case in this one process,
 * prints ops/s, "ours / peer" ratios and memory, and writes the results to
 * bench/results/latest.json, latest.md and one SVG chart per case plus an
 * overview (unless --no-save, which writes nothing at all). The issue-4
 * cases (bigvalues, overwrite, open, memory) are in cases-large.ts and
 * cases-process.ts; the memory case and the crash half of open run ours in
 * a child process (child.ts).
 *
 * Figures on shared machines vary up to 2x between runs: compare engines
 * within one run and quote the ratios (see ../shared/MEASUREMENTS.md).
 */
import { mkdirSync, readdirSync, unlinkSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { CASE_NAMES, collectGarbage, enableGc, KEY_BYTES, makeDataset, rssBytes, runEngine, VALUE_BYTES } from "./cases.ts";
import type { CaseName, CaseOptions, DiskUsage, Flavour, Measurement, ShapeReport, Timing } from "./cases.ts";
import { LARGE_CASE_NAMES } from "./cases-large.ts";
import type { LargeCaseName, LargeOptions } from "./cases-large.ts";
import { ENGINE_NAMES, loadEngines } from "./engines.ts";
import type { EngineName } from "./engines.ts";
import { buildCharts, largeNotes, largeTables } from "./report-large.ts";
import { runLarge, runMemory } from "./run-large.ts";
import type { LargeRun } from "./run-large.ts";
import type { ChartFile } from "./report-large.ts";
import { evaluateTargets, megabytes, targetsTable } from "./targets.ts";
import type { TargetLine } from "./targets.ts";
import { delegateToVersioned } from "./versioned-hook.ts";
import { fmtOps, repoRoot, runtimeName } from "./util.ts";

interface Flags extends CaseOptions {
  only: EngineName[];
  seed: number;
  save: boolean;
  large: LargeOptions;
  crashWalBytes: number;
  memoryKeys: number;
  /** Where the results go (default bench/results). */
  out: string | undefined;
}

const ALL_CASES = [...CASE_NAMES, ...LARGE_CASE_NAMES] as const;
type AnyCase = (typeof ALL_CASES)[number];

const USAGE = `usage: npm run bench -- [flags]
  --keys N       keys for fillseq/fillrandom/readseq (default 1000000)
  --reads N      random gets for readrandom (default: --keys)
  --single N     single puts, one at a time (default 200000)
  --batch N      puts per batch in the fills (default 1000)
  --only LIST    engines, comma-separated: ${ENGINE_NAMES.join(",")}
  --cases LIST   cases, comma-separated (default: all but memory): ${ALL_CASES.join(",")}
                 (--cases versioned alone: the versioned store's benchmark, bench/versioned.ts, with its own flags)
                 (compact: each engine's full compaction after fillrandom, before the reopen
                 that readrandom/readseq use; the directory size is reported either way)
                 issue 4: bigvalues (10k puts of 64 KiB: MB/s, write amplification),
                 overwrite (3x overwrite + compaction/GC: space / live), open (clean open of a
                 --keys database; ours also after a SIGKILL with a full WAL), memory (ours in a
                 child, profiles mobile and background: peak RSS, engine memory; several
                 minutes at 1M keys, so only with --with-memory or when named in --cases)
  --with-memory        add the memory case to the selected cases
  --big-count N        bigvalues puts per flavour (default 10000)
  --overwrite-keys N   overwrite keys of 4 KiB (default 20000)
  --crash-wal-mb N     WAL MB (10^6 B) before the crash of the open case (default 100)
  --memory-keys N      keys of the memory case's fillrandom and readrandom (default 1000000)
  --seed N       seed of the generated data (default 1)
  --out DIR      write the results to DIR instead of bench/results
  --no-save      write nothing (no latest.{json,md}, no charts)`;

/** One table row: a case issued in one flavour. */
const ROWS: ReadonlyArray<readonly [CaseName, Flavour]> = [
  ["fillseq", "batch"],
  ["fillrandom", "batch"],
  ["single", "await"],
  ["single", "sync"],
  ["readrandom", "await"],
  ["readrandom", "sync"],
  ["readseq", "await"],
  ["readseq", "sync"],
];

function parseFlags(argv: readonly string[]): Flags { // A
  const f: Flags = {
    keys: 1_000_000, single: 200_000, reads: -1, batch: 1000, cases: new Set(CASE_NAMES), only: [...ENGINE_NAMES], seed: 1, save: true,
    large: { cases: new Set(LARGE_CASE_NAMES.filter((c) => c !== "memory")), bigCount: 10_000, bigValueBytes: 64 * 1024, bigBatch: 100, overwriteKeys: 20_000, overwriteValueBytes: 4096, overwriteRounds: 3, openKeys: 0, seed: 1 },
    crashWalBytes: 100e6, memoryKeys: 1_000_000, out: undefined,
  };
  let withMemory = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [name, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => inline ?? argv[++i] ?? usageError(`${name} needs a value`); // A
    if (name === "--keys") f.keys = positiveInt(name, value());
    else if (name === "--reads") f.reads = positiveInt(name, value());
    else if (name === "--single") f.single = positiveInt(name, value());
    else if (name === "--batch") f.batch = positiveInt(name, value());
    else if (name === "--seed") f.seed = positiveInt(name, value());
    else if (name === "--only") f.only = listOf(name, value(), ENGINE_NAMES);
    else if (name === "--cases") setCases(f, listOf(name, value(), ALL_CASES));
    else if (name === "--with-memory") withMemory = true;
    else if (name === "--big-count") f.large.bigCount = positiveInt(name, value());
    else if (name === "--overwrite-keys") f.large.overwriteKeys = positiveInt(name, value());
    else if (name === "--crash-wal-mb") f.crashWalBytes = positiveInt(name, value()) * 1e6;
    else if (name === "--memory-keys") f.memoryKeys = positiveInt(name, value());
    else if (name === "--out") f.out = value();
    else if (name === "--no-save") f.save = false;
    else if (name === "--help" || name === "-h") usageError(undefined);
    else usageError(`unknown flag ${a}`);
  }
  if (f.reads < 0) f.reads = f.keys;
  if (withMemory) f.large = { ...f.large, cases: new Set([...f.large.cases, "memory"]) };
  f.large.openKeys = f.keys;
  f.large.seed = f.seed;
  return f;
}

function setCases(f: Flags, names: readonly AnyCase[]): void { // A
  f.cases = new Set(names.filter((n): n is CaseName => (CASE_NAMES as readonly string[]).includes(n))); // A
  f.large.cases = new Set(names.filter((n): n is LargeCaseName => (LARGE_CASE_NAMES as readonly string[]).includes(n))); // A
}


function listOf<T extends string>(name: string, s: string, allowed: readonly T[]): T[] { // A
  const items = s.split(",").map((x) => x.trim()).filter((x) => x.length > 0); // A
  for (const x of items) if (!allowed.includes(x as T)) usageError(`${name}: unknown ${x} (known: ${allowed.join(", ")})`);
  if (items.length === 0) usageError(`${name} needs at least one item`);
  return items as T[];
}

function positiveInt(name: string, s: string): number { // A
  const n = Number(s.replace(/[_,]/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) usageError(`${name} must be a positive integer, got ${s}`);
  return n;
}

function usageError(message: string | undefined): never { // A
  if (message !== undefined) console.error(`bench: ${message}`);
  console.error(USAGE);
  process.exit(message === undefined ? 0 : 2);
}

interface EngineMemory {
  /** Largest RSS sampled right after a timed loop of this engine. */
  rssSampledMaxBytes: number;
  /** The process's peak RSS once this engine finished (monotonic over the run). */
  processPeakAfterBytes: number | undefined;
}

interface RunResult {
  measurements: Measurement[];
  timings: Timing[];
  disk: DiskUsage[];
  shapes: ShapeReport[];
  skipped: Array<{ name: EngineName; reason: string }>;
  failures: Array<{ name: EngineName; error: string }>;
  versions: Partial<Record<EngineName, string>>;
  /** What each engine's "compact" step calls (or why it has none). */
  compactApis: Partial<Record<EngineName, string>>;
  memory: Partial<Record<EngineName, EngineMemory>>;
  rssBaselineBytes: number;
  gc: string;
  large: LargeRun;
}

async function main(): Promise<void> { // A
  const flags = parseFlags(process.argv.slice(2));
  const gc = await enableGc();
  const loaded = await loadEngines(flags.only);
  for (const s of loaded.skipped) console.log(`note: skipping ${s.name}: it failed to load on ${runtimeName()} (${s.reason})`);
  const t0 = performance.now();
  const data = makeDataset(flags, flags.seed);
  collectGarbage();
  const result: RunResult = {
    measurements: [], timings: [], disk: [], shapes: [], skipped: loaded.skipped, failures: [], versions: loaded.versions,
    compactApis: Object.fromEntries(loaded.engines.map((e) => [e.name, e.apis.compact ?? "none"])), // A
    memory: {}, rssBaselineBytes: rssBytes(), gc, large: { bigValues: [], overwrite: [], open: [], memory: [] },
  };
  console.log(`data: ${flags.keys} keys of ${KEY_BYTES} B, values of ${VALUE_BYTES} B, ${flags.reads} reads, ${flags.single} single puts ` +
    `(generated in ${((performance.now() - t0) / 1000).toFixed(1)} s; RSS ${mb(result.rssBaselineBytes)})`);
  for (const engine of loaded.engines) {
    console.log(`\n== ${engine.name}`);
    let sampledMax = 0;
    const sink = {
      measurement(m: Measurement): void { // A
        result.measurements.push(m);
        sampledMax = Math.max(sampledMax, m.rssBytes);
        console.log(`  ${pad(`${m.case}:${m.flavour}`, 18)} ${pad(fmtOps(m.opsPerSec), 8, true)} ops/s  ${m.seconds.toFixed(2)} s  ${m.api}`);
      },
      timing(t: Timing): void { // A
        result.timings.push(t);
        console.log(`  ${pad(t.name, 27)} ${t.seconds.toFixed(2)} s`);
      },
      disk(d: DiskUsage): void { // A
        result.disk.push(d);
        console.log(`  ${pad(`disk ${d.stage}`, 27)} ${diskText(d)}`);
      },
      shape(s: ShapeReport): void { // A
        result.shapes.push(s);
        console.log(`  stats ${s.stage}:`);
        for (const line of s.lines) console.log(`    ${line}`);
      },
    };
    try {
      await runEngine(engine, data, flags, sink);
      await runLarge(engine, data, flags.large, flags.crashWalBytes, result.large);
    } catch (e) {
      const error = e instanceof Error ? (e.stack ?? e.message) : String(e);
      result.failures.push({ name: engine.name, error });
      console.log(`  FAILED: ${error}`);
    }
    result.memory[engine.name] = { rssSampledMaxBytes: sampledMax, processPeakAfterBytes: processPeakRss() };
    collectGarbage();
  }
  if (flags.large.cases.has("memory") && loaded.engines.some((e) => e.name === "ours")) await runMemory(flags.memoryKeys, flags.seed, result.large); // A
  const report = buildReport(flags, result);
  console.log(`\n${report.text}`);
  if (flags.save) save(report, flags, result);
}

// Tables.

type Cell = Measurement | undefined;

function cell(ms: readonly Measurement[], engine: EngineName, c: CaseName, fl: Flavour): Cell { // A
  return ms.find((m) => m.engine === engine && m.case === c && m.flavour === fl); // A
}

/** The peer figure ours is compared with: the same flavour, else the peer's only flavour of that case (starred). */
function peerFor(ms: readonly Measurement[], peer: EngineName, c: CaseName, fl: Flavour): [Cell, boolean] { // A
  const same = cell(ms, peer, c, fl);
  if (same !== undefined) return [same, false];
  const others = ms.filter((m) => m.engine === peer && m.case === c); // A
  return others.length === 1 ? [others[0], true] : [undefined, false];
}

interface RatioRow {
  row: string;
  peer: EngineName;
  ours: number;
  peerOpsPerSec: number;
  peerFlavour: Flavour;
  ratio: number;
  crossFlavour: boolean;
}

function ratios(ms: readonly Measurement[], peers: readonly EngineName[]): RatioRow[] { // A
  const out: RatioRow[] = [];
  for (const [c, fl] of ROWS) {
    const ours = cell(ms, "ours", c, fl);
    if (ours === undefined) continue;
    for (const peer of peers) {
      const [p, cross] = peerFor(ms, peer, c, fl);
      if (p === undefined) continue;
      out.push({ row: `${c}:${fl}`, peer, ours: ours.opsPerSec, peerOpsPerSec: p.opsPerSec, peerFlavour: p.flavour, ratio: ours.opsPerSec / p.opsPerSec, crossFlavour: cross });
    }
  }
  return out;
}

interface Report {
  text: string;
  markdown: string;
  ratios: RatioRow[];
  targets: TargetLine[];
  charts: ChartFile[];
}

function buildReport(flags: Flags, r: RunResult): Report { // A
  const engines = ENGINE_NAMES.filter((e) => r.measurements.some((m) => m.engine === e)); // A
  const peers = engines.filter((e) => e !== "ours"); // A
  const rows = ROWS.filter(([c, fl]) => engines.some((e) => cell(r.measurements, e, c, fl) !== undefined)); // A
  const opsTable: string[][] = [["ops/s", ...engines]];
  for (const [c, fl] of rows) opsTable.push([`${c}:${fl}`, ...engines.map((e) => fmtCell(cell(r.measurements, e, c, fl)))]); // A
  const rr = ratios(r.measurements, peers);
  const ratioTable: string[][] = [["ours / peer", ...peers]];
  for (const [c, fl] of rows) {
    const line = rr.filter((x) => x.row === `${c}:${fl}`); // A
    if (line.length === 0) continue;
    ratioTable.push([`${c}:${fl}`, ...peers.map((p) => fmtRatio(line.find((x) => x.peer === p))) ]); // A
  }
  const largeEngines = ENGINE_NAMES.filter((e) => engines.includes(e) || [...r.large.bigValues, ...r.large.overwrite, ...r.large.open].some((x) => x.engine === e)); // A
  const targets = evaluateTargets(r.measurements, r.disk, r.large);
  const tables = [
    ...(rows.length > 0 ? [opsTable] : []), ...(ratioTable.length > 1 ? [ratioTable] : []), ...(engines.length > 0 ? [otherTable(engines, r)] : []),
    ...largeTables(largeEngines, r.large), targetsTable(targets),
  ];
  const notes = [...reportNotes(flags, r), ...largeNotes(r.large, flags.large)];
  const charts = buildCharts({
    measurements: r.measurements, rows, ratios: rr, large: r.large,
    dataNote: `${flags.keys} keys of ${KEY_BYTES} B, ${VALUE_BYTES} B random values, batches of ${flags.batch}; ${runtimeName()}`,
  });
  const shapes = shapeLines(r.shapes);
  return {
    text: [...tables.map(textTable), shapes.join("\n"), ...notes].filter((x) => x !== "").join("\n\n"), // A
    markdown: markdownReport(flags, r, tables, shapes, notes, charts),
    ratios: rr,
    targets,
    charts,
  };
}

function otherTable(engines: readonly EngineName[], r: RunResult): string[][] { // A
  const timing = (e: EngineName, name: string): string => fmtSeconds(r.timings.find((t) => t.engine === e && t.name === name)); // A
  const disk = (e: EngineName): DiskUsage | undefined => r.disk.find((d) => d.engine === e); // A
  const stage = r.disk[0]?.stage ?? "after fillrandom";
  return [
    ["other", ...engines],
    ["compaction after fillrandom (s)", ...engines.map((e) => timing(e, "compaction after fillrandom"))], // A
    ["reopen after fillrandom (s)", ...engines.map((e) => timing(e, "reopen after fillrandom"))], // A
    [`disk ${stage}`, ...engines.map((e) => fmtDisk(disk(e), "bytes"))], // A
    ["disk / raw payload", ...engines.map((e) => fmtDisk(disk(e), "ratio"))], // A
    ["disk allocated (st_blocks)", ...engines.map((e) => fmtDisk(disk(e), "allocated"))], // A
    ["RSS after timed loops, max", ...engines.map((e) => mb(r.memory[e]?.rssSampledMaxBytes))], // A
    ["process peak RSS when done", ...engines.map((e) => mb(r.memory[e]?.processPeakAfterBytes))], // A
  ];
}

/** Ours' `db.stats()` after each step, so the write path's shape is in the report next to its figures. */
function shapeLines(shapes: readonly ShapeReport[]): string[] { // A
  const out: string[] = [];
  for (const s of shapes) out.push(`${s.engine} db.stats() ${s.stage}:`, ...s.lines.map((l) => `  ${l}`)); // A
  return out;
}

function reportNotes(flags: Flags, r: RunResult): string[] { // A
  const notes: string[] = [];
  if (flags.batch !== 1000) notes.push(`the issue's targets are stated for batches of 1000; this run used batches of ${flags.batch}`);
  notes.push("targets: ratios of ours to the peer in this run (issue 3, then issue 2's single-put target); disk is ours' directory after fillrandom + `db.compact()` + close, over keys x (16 + 100) B.");
  if (flags.cases.has("compact")) {
    notes.push("compaction runs after the fillrandom load and before the close and reopen, so readrandom and readseq read the compacted state.");
    notes.push(`compaction APIs: ${r.disk.map((d) => `${d.engine}: ${r.compactApis[d.engine] ?? "?"}`).join("; ")}`); // A
  } else {
    notes.push("no compaction in this run (--cases without compact): disk sizes and reads are of the state the fillrandom load left.");
  }
  notes.push("`*` = the peer has no API of this flavour; compared with its other flavour of the same case.");
  notes.push(`peak RSS of the whole process: ${mb(processPeakRss())}; RSS after generating the data: ${mb(r.rssBaselineBytes)} (every engine's figure includes it)`);
  for (const s of r.skipped) notes.push(`skipped ${s.name}: ${s.reason}`);
  for (const f of r.failures) notes.push(`FAILED ${f.name}: ${f.error.split("\n")[0]}`);
  return notes;
}

function textTable(rows: readonly string[][]): string { // A
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))); // A
  return rows.map((r) => r.map((c, i) => pad(c, widths[i], i > 0)).join("  ")).join("\n"); // A
}

function markdownTable(rows: readonly string[][]): string { // A
  const head = `| ${rows[0].join(" | ")} |`;
  const rule = `|${rows[0].map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`; // A
  return [head, rule, ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`)].join("\n"); // A
}

function markdownReport( // A
  flags: Flags,
  r: RunResult,
  tables: readonly string[][][],
  shapes: readonly string[],
  notes: readonly string[],
  charts: readonly ChartFile[],
): string {
  const versions = Object.entries(r.versions).map(([k, v]) => `${k} ${v}`).join(", "); // A
  const apis = r.measurements.map((m) => `${m.engine} ${m.case}:${m.flavour} = \`${m.api}\``); // A
  return [
    "# OuroborosDB benchmark: latest run",
    "",
    `Command: \`${commandLine()}\`  `,
    `Date: ${new Date().toISOString()}  `,
    `Runtime: ${runtimeName()}; ${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}, ${mb(os.totalmem())} RAM; GC between cases: ${r.gc}  `,
    `Engines: ${versions}  `,
    `Data: ${flags.keys} keys (${KEY_BYTES} B) and values (${VALUE_BYTES} B, random), batches of ${flags.batch}, ${flags.reads} random reads, ${flags.single} single puts, seed ${flags.seed}`,
    "",
    ...tables.flatMap((t) => [markdownTable(t), ""]), // A
    ...(charts.length === 0 ? [] : ["Charts:", "", ...charts.flatMap((c) => [`![${c.title}](${c.file})`, ""])]), // A
    ...(shapes.length === 0 ? [] : ["```", ...shapes, "```", ""]),
    ...notes.map((n) => `- ${n}`), // A
    "",
    "APIs measured:",
    "",
    ...apis.map((a) => `- ${a}`), // A
    "",
  ].join("\n");
}

function save(report: Report, flags: Flags, r: RunResult): void { // A
  const dir = flags.out ?? join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  // The directory holds one run: charts of cases this run did not measure are stale.
  for (const name of readdirSync(dir)) if (name.startsWith("chart-") && name.endsWith(".svg")) unlinkSync(join(dir, name));
  for (const c of report.charts) writeFileSync(join(dir, c.file), c.svg);
  const json = {
    command: commandLine(),
    date: new Date().toISOString(),
    runtime: runtimeName(),
    machine: { cpu: os.cpus()[0]?.model, cores: os.cpus().length, memBytes: os.totalmem(), platform: `${os.platform()} ${os.release()}` },
    flags: { ...flags, cases: [...flags.cases], large: { ...flags.large, cases: [...flags.large.cases] } },
    ...r,
    processPeakRssBytes: processPeakRss(),
    ratios: report.ratios,
    targets: report.targets,
  };
  writeFileSync(join(dir, "latest.json"), JSON.stringify(json, null, 2) + "\n");
  writeFileSync(join(dir, "latest.md"), report.markdown);
  console.log(`\nwrote ${join(dir, "latest.md")}, latest.json and ${report.charts.length} charts`);
}

// Small helpers.



function commandLine(): string { // A
  const args = process.argv.slice(2).join(" ");
  if (process.env.npm_lifecycle_event === "bench") return `npm run bench${args === "" ? "" : ` -- ${args}`}`;
  const script = process.argv[1] === undefined ? "" : relative(repoRoot(), process.argv[1]);
  return `${runtimeName().split(" ")[0]} ${script} ${args}`.trim();
}

/** Peak resident set size of the process in bytes, where the runtime reports it. */
function processPeakRss(): number | undefined { // A
  try {
    return process.resourceUsage().maxRSS * 1024;
  } catch {
    return undefined;
  }
}


function fmtCell(m: Cell): string { // A
  return m === undefined ? "-" : fmtOps(m.opsPerSec);
}

function fmtRatio(x: RatioRow | undefined): string { // A
  if (x === undefined) return "-";
  const r = x.ratio >= 10 ? x.ratio.toFixed(1) : x.ratio.toFixed(2);
  return `${r}x${x.crossFlavour ? "*" : ""}`;
}

function fmtDisk(d: DiskUsage | undefined, what: "bytes" | "ratio" | "allocated"): string { // A
  if (d === undefined) return "-";
  if (what === "bytes") return megabytes(d.bytes);
  if (what === "ratio") return `${(d.bytes / d.payloadBytes).toFixed(3)}x`;
  return d.allocatedBytes === undefined ? "-" : megabytes(d.allocatedBytes);
}

function diskText(d: DiskUsage): string { // A
  const allocated = d.allocatedBytes === undefined ? "" : `, ${megabytes(d.allocatedBytes)} allocated`;
  return `${megabytes(d.bytes)} in ${d.files} files (${(d.bytes / d.payloadBytes).toFixed(3)}x the ${megabytes(d.payloadBytes)} payload${allocated})`;
}

function fmtSeconds(t: Timing | undefined): string { // A
  return t === undefined ? "-" : t.seconds.toFixed(2);
}

function mb(bytes: number | undefined): string { // A
  return bytes === undefined || bytes === 0 ? "-" : `${Math.round(bytes / (1024 * 1024))} MB`;
}

function pad(s: string, width: number, right = false): string { // A
  return right ? s.padStart(width) : s.padEnd(width);
}

if (!(await delegateToVersioned(process.argv.slice(2)))) await main();
