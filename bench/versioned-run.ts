/**
 * The versioned store's benchmark (issue 5): flags, the run, its targets and
 * its report. Entry points: `node dist/bench/versioned.js [flags]`
 * (bench/versioned.ts), `npx bun bench/versioned.ts`, `npx deno run -A
 * bench/versioned.ts`, and `npm run bench -- --cases versioned [flags]`,
 * which run.ts hands over here (versioned-hook.ts). Writes
 * bench/results/versioned.md and versioned.json (or into --out) unless
 * --no-save. The cases themselves are in versioned-cases.ts.
 *
 * Targets are absolute (issue 5): versioned put >= 100k versions/s, get >=
 * 200k/s, history of 100k versions in bounded memory (stated here as heap
 * growth <= 20 MB while streaming it), plus our own bound for content dedup.
 * A run smaller than a target's size, or missing its figure, reads "n/a".
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import { join, relative } from "node:path";
import process from "node:process";
import { enableGc } from "./cases.ts";
import { megabytes, targetsTable } from "./targets.ts";
import type { TargetLine, TargetStatus } from "./targets.ts";
import { makeVersionedData, runDedup, runHistory, runPutGet, VALUE_BYTES, VERSIONED_CASES } from "./versioned-cases.ts";
import type { DedupResult, HistoryResult, Throughput, VersionedCase, VersionedOptions } from "./versioned-cases.ts";
import { fmtOps, repoRoot, runtimeName } from "./util.ts";

interface Flags extends VersionedOptions {
  save: boolean;
  out: string | undefined;
}

const USAGE = `usage: node dist/bench/versioned.js [flags]   (or: npm run bench -- --cases versioned [flags])
  --versions N   1 KiB puts per put case, distinct keys; also the keys the gets read (default 100000)
  --reads N      random gets of existing keys (default: --versions)
  --history N    versions of the one key of the history case (default 100000)
  --in-flight N  operations in flight in the concurrent flavours (default 64)
  --dedup N      puts of 64 KiB values in the dedup case (default 10000)
  --dedup-kib N  size of those values in KiB (default 64)
  --cases LIST   ${VERSIONED_CASES.join(",")} (default: all)
  --seed N       seed of the generated data (default 1)
  --out DIR      write versioned.md and versioned.json to DIR instead of bench/results
  --no-save      write nothing`;

const PUT_MIN = 100_000;
const GET_MIN = 200_000;
const FULL_VERSIONS = 100_000;
const HISTORY_FULL = 100_000;
const HISTORY_HEAP_MAX = 20e6;
const DEDUP_FULL = 10_000;
/** Identical values stored once: the same-value directory within this fraction of the distinct-value one. */
const DEDUP_RATIO_MAX = 0.05;

function parseFlags(argv: readonly string[]): Flags { // A
  const f: Flags = {
    cases: new Set(VERSIONED_CASES), versions: 100_000, reads: -1, history: 100_000, inFlight: 64, dedupPuts: 10_000, dedupValueBytes: 64 * 1024,
    seed: 1, save: true, out: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [name, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = (): string => inline ?? argv[++i] ?? usageError(`${name} needs a value`); // A
    if (name === "--versions") f.versions = positiveInt(name, value());
    else if (name === "--reads") f.reads = positiveInt(name, value());
    else if (name === "--history") f.history = positiveInt(name, value());
    else if (name === "--in-flight") f.inFlight = positiveInt(name, value());
    else if (name === "--dedup") f.dedupPuts = positiveInt(name, value());
    else if (name === "--dedup-kib") f.dedupValueBytes = positiveInt(name, value()) * 1024;
    else if (name === "--cases") f.cases = new Set(caseList(value()));
    else if (name === "--seed") f.seed = positiveInt(name, value());
    else if (name === "--out") f.out = value();
    else if (name === "--no-save") f.save = false;
    else if (name === "--help" || name === "-h") usageError(undefined);
    else usageError(`unknown flag ${a}`);
  }
  if (f.reads < 0) f.reads = f.versions;
  return f;
}

function caseList(s: string): VersionedCase[] { // A
  const items = s.split(",").map((x) => x.trim()).filter((x) => x !== ""); // A
  for (const x of items) if (!(VERSIONED_CASES as readonly string[]).includes(x)) usageError(`--cases: unknown ${x} (known: ${VERSIONED_CASES.join(", ")})`);
  if (items.length === 0) usageError("--cases needs at least one case");
  return items as VersionedCase[];
}


function positiveInt(name: string, s: string): number { // A
  const n = Number(s.replace(/[_,]/g, ""));
  if (!Number.isSafeInteger(n) || n <= 0) usageError(`${name} must be a positive integer, got ${s}`);
  return n;
}

function usageError(message: string | undefined): never { // A
  if (message !== undefined) console.error(`bench versioned: ${message}`);
  console.error(USAGE);
  process.exit(message === undefined ? 0 : 2);
}

interface VersionedRun {
  throughput: Throughput[];
  history: HistoryResult | undefined;
  dedup: DedupResult | undefined;
  notes: string[];
  failures: string[];
  gc: string;
}

/** Runs the selected cases with `argv`'s flags, prints the figures and (unless --no-save) writes the report. */
export async function runVersionedBench(argv: readonly string[]): Promise<void> { // A
  const flags = parseFlags(argv);
  const gc = await enableGc();
  const run: VersionedRun = { throughput: [], history: undefined, dedup: undefined, notes: [], failures: [], gc };
  const data = makeVersionedData(flags);
  console.log(`versioned store: ${flags.versions} keys x ${VALUE_BYTES} B values, ${flags.reads} reads, history of ${flags.history}, ` +
    `${flags.inFlight} in flight; ${runtimeName()}; gc: ${gc}`);
  const sink = {
    throughput(t: Throughput): void { // A
      run.throughput.push(t);
      console.log(`  ${`${t.case} ${t.side} x${t.inFlight}${t.warm === true ? " warm" : ""}`.padEnd(22)} ${fmtOps(t.opsPerSec).padStart(8)}/s  ${t.seconds.toFixed(2)} s  ${t.api}`);
    },
    note(text: string): void { // A
      run.notes.push(text);
      console.log(`  note: ${text}`);
    },
    history(h: HistoryResult): void { // A
      run.history = h;
      console.log(`  history of ${h.versions}: built in ${h.buildSeconds.toFixed(2)} s, iterated in ${h.iterateSeconds.toFixed(3)} s ` +
        `(engine index scan ${h.engineScanSeconds.toFixed(3)} s), heap growth max ${megabytes(h.heapGrowthMaxBytes)}`);
    },
    dedup(d: DedupResult): void { // A
      run.dedup = d;
      console.log(`  dedup ${d.puts} x ${d.valueBytes / 1024} KiB: identical ${megabytes(d.sameBytes)}, distinct ${megabytes(d.distinctBytes)}, ` +
        `engine identical ${megabytes(d.engineSameBytes)}`);
    },
  };
  const root = mkdtempSync(join(os.tmpdir(), "ouro-bench-versioned-"));
  const attempt = async (name: string, body: () => Promise<void>): Promise<void> => { // A
    try {
      await body();
    } catch (e) {
      run.failures.push(`${name}: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      console.log(`  FAILED ${name}: ${e instanceof Error ? e.message : String(e)}`);
      process.exitCode = 1;
    }
  };
  try {
    if (flags.cases.has("put") || flags.cases.has("get")) await attempt("put/get", () => runPutGet(data, flags, root, sink)); // A
    if (flags.cases.has("history")) await attempt("history", () => runHistory(data, flags, root, sink, !gc.startsWith("none"))); // A
    if (flags.cases.has("dedup")) await attempt("dedup", () => runDedup(flags, root, sink)); // A
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const targets = evaluate(flags, run);
  const tables = reportTables(flags, run, targets);
  console.log(`\n${tables.map(textTable).join("\n\n")}`); // A
  if (flags.save) save(flags, run, targets, tables);
}

function find(r: VersionedRun, c: "put" | "get", side: "store" | "engine", inFlight: number, warm = false): Throughput | undefined { // A
  return r.throughput.find((t) => t.case === c && t.side === side && t.inFlight === inFlight && (t.warm ?? false) === warm); // A
}

function status(figure: number | undefined, fullSize: boolean, pass: (x: number) => boolean): TargetStatus { // A
  return figure === undefined || !fullSize ? "n/a" : pass(figure) ? "PASS" : "MISS";
}

function throughputTarget(label: string, t: Throughput | undefined, engine: Throughput | undefined, min: number, fullSize: boolean): TargetLine { // A
  const ratio = t !== undefined && engine !== undefined ? t.opsPerSec / engine.opsPerSec : undefined;
  return {
    target: label, ours: t === undefined ? "-" : `${fmtOps(t.opsPerSec)}/s`, peer: engine === undefined ? "-" : `engine ${fmtOps(engine.opsPerSec)}/s`,
    ratio, ratioText: ratio === undefined ? "-" : `${ratio.toFixed(2)}x`,
    required: `>= ${fmtOps(min)}/s${fullSize || t === undefined ? "" : " (smaller run)"}`, status: status(t?.opsPerSec, fullSize, (x) => x >= min), // A
  };
}

function evaluate(f: Flags, r: VersionedRun): TargetLine[] { // A
  const full = f.versions >= FULL_VERSIONS;
  const h = r.history;
  const hFull = h !== undefined && h.versions >= HISTORY_FULL && h.gcForced;
  const d = r.dedup;
  const dRatio = d === undefined ? undefined : d.sameBytes / d.distinctBytes;
  const dFull = d !== undefined && d.puts >= DEDUP_FULL && d.valueBytes >= 64 * 1024;
  return [
    throughputTarget("versioned put of 1 KiB, awaited one at a time", find(r, "put", "store", 1), find(r, "put", "engine", 1), PUT_MIN, full),
    throughputTarget(`versioned put of 1 KiB, ${f.inFlight} in flight`, find(r, "put", "store", f.inFlight), find(r, "put", "engine", f.inFlight), PUT_MIN, full),
    throughputTarget("versioned get of a random existing key, awaited", find(r, "get", "store", 1), find(r, "get", "engine", 1), GET_MIN, full),
    throughputTarget(`versioned get, ${f.inFlight} in flight`, find(r, "get", "store", f.inFlight), find(r, "get", "engine", f.inFlight), GET_MIN, full),
    throughputTarget("versioned get, warm block cache, awaited", find(r, "get", "store", 1, true), find(r, "get", "engine", 1, true), GET_MIN, full),
    {
      target: "history of one key with 100k versions: heap growth while streaming it (bounded memory)",
      ours: h === undefined ? "-" : megabytes(h.heapGrowthMaxBytes), peer: h === undefined ? "-" : `${h.versions} versions, gc ${h.gcForced ? "forced" : "unavailable"}`,
      ratio: undefined, ratioText: "-", required: `<= ${megabytes(HISTORY_HEAP_MAX)}${hFull || h === undefined ? "" : " (smaller run or no gc)"}`,
      status: status(h?.heapGrowthMaxBytes, hFull, (x) => x <= HISTORY_HEAP_MAX), // A
    },
    {
      target: "identical values stored once: directory after 10k puts of one 64 KiB value vs 10k distinct",
      ours: d === undefined ? "-" : megabytes(d.sameBytes), peer: d === undefined ? "-" : `distinct ${megabytes(d.distinctBytes)}`,
      ratio: dRatio, ratioText: dRatio === undefined ? "-" : `${dRatio.toFixed(3)}x`,
      required: `<= ${DEDUP_RATIO_MAX}x${dFull || d === undefined ? "" : " (smaller run)"}`, status: status(dRatio, dFull, (x) => x <= DEDUP_RATIO_MAX), // A
    },
  ];
}

function reportTables(f: Flags, r: VersionedRun, targets: readonly TargetLine[]): string[][][] { // A
  const rows: string[][] = [["ops/s", "versioned store", "engine", "store / engine"]];
  const labels: Array<["put" | "get", number, string, boolean]> = [
    ["put", 1, "put 1 KiB, awaited one at a time", false], ["put", f.inFlight, `put 1 KiB, ${f.inFlight} in flight`, false],
    ["get", 1, "get random existing key, awaited (cold, after a reopen)", false], ["get", f.inFlight, `get, ${f.inFlight} in flight`, false],
    ["get", 1, "get, awaited, warm (a third pass over the same keys)", true],
  ];
  for (const [c, n, label, warm] of labels) {
    const s = find(r, c, "store", n, warm), e = find(r, c, "engine", n, warm);
    if (s === undefined && e === undefined) continue;
    rows.push([label, s === undefined ? "-" : fmtOps(s.opsPerSec), e === undefined ? "-" : fmtOps(e.opsPerSec), s && e ? `${(s.opsPerSec / e.opsPerSec).toFixed(2)}x` : "-"]);
  }
  const tables = rows.length > 1 ? [rows] : [];
  const h = r.history;
  if (h !== undefined) {
    tables.push([
      ["history of one key", "figure"],
      ["versions", String(h.versions)],
      [`built (puts of one key, ${f.inFlight} in flight)`, `${h.buildSeconds.toFixed(2)} s (${fmtOps(h.versions / h.buildSeconds)}/s)`],
      ["iterate all, after a reopen", `${h.iterateSeconds.toFixed(3)} s (${fmtOps(h.versions / h.iterateSeconds)} versions/s)`],
      ["engine: scan of the raw history index (keys only)", `${h.engineScanSeconds.toFixed(3)} s (${fmtOps(h.versions / h.engineScanSeconds)}/s)`],
      [`heap growth, sampled every ${h.sampleEvery} (max)`, megabytes(h.heapGrowthMaxBytes)],
      ["heap growth samples (MB)", h.heapGrowthBytes.map((b) => (b / 1e6).toFixed(1)).join(" ")], // A
    ]);
  }
  const d = r.dedup;
  if (d !== undefined) {
    tables.push([
      [`dedup: ${d.puts} puts of ${d.valueBytes / 1024} KiB to distinct keys`, "directory after close", "put time"],
      ["store, one identical value", megabytes(d.sameBytes), `${d.sameSeconds.toFixed(2)} s`],
      ["store, distinct values", megabytes(d.distinctBytes), `${d.distinctSeconds.toFixed(2)} s`],
      ["engine (no dedup), the identical value", megabytes(d.engineSameBytes), "-"],
    ]);
  }
  return [...tables, targetsTable(targets)];
}

function save(f: Flags, r: VersionedRun, targets: readonly TargetLine[], tables: readonly string[][][]): void { // A
  const dir = f.out ?? join(repoRoot(), "bench", "results");
  mkdirSync(dir, { recursive: true });
  const date = new Date().toISOString();
  const cpu = `${os.cpus()[0]?.model ?? "?"} x${os.cpus().length}`;
  const json = { command: commandText(), commit: gitCommit(), date, runtime: runtimeName(), machine: { cpu, memBytes: os.totalmem() }, flags: { ...f, cases: [...f.cases] }, ...r, targets };
  writeFileSync(join(dir, "versioned.json"), JSON.stringify(json, null, 2) + "\n");
  const md = [
    "# OuroborosDB benchmark: the versioned store (issue 5)", "",
    `Command: \`${commandText()}\`  `, `Commit: ${gitCommit()} (the working tree, which may hold uncommitted changes)  `, `Date: ${date}  `, `Runtime: ${runtimeName()}; ${cpu}, ${Math.round(os.totalmem() / 2 ** 20)} MB RAM; gc: ${r.gc}  `,
    `Data: ${f.versions} distinct 16-byte random keys, ${VALUE_BYTES} B random values, ${f.reads} random reads, seed ${f.seed}; both sides \`sync: false\` (the engine's default)`, "",
    ...tables.flatMap((t) => [markdownTable(t), ""]), // A
    ...notes(f, r).map((n) => `- ${n}`), "", // A
  ].join("\n");
  writeFileSync(join(dir, "versioned.md"), md);
  console.log(`\nwrote ${join(dir, "versioned.md")} and versioned.json`);
}

function notes(f: Flags, r: VersionedRun): string[] { // A
  return [
    "puts: each flavour into a fresh directory; gets: random existing keys after a close and reopen of the awaited-put directories, store and engine alike.",
    `the "${f.inFlight} in flight" flavours keep that many calls pending; the store's write lane puts the puts queued behind a running write into one engine batch (a group), so this measures what grouping saves.`,
    "gets: two cold passes right after the reopen (awaited, then in flight; the second is partly warm), then a warm awaited pass: every block is then in the block cache (server profile: 256 MiB).",
    "history: built with puts of one key, then the store is reopened; one timed pass without gc, then a pass with a forced gc before every heap sample (heapUsed minus the baseline taken after a gc).",
    `targets: absolute (issue 5), at ${FULL_VERSIONS} versions (put, get) and a ${HISTORY_FULL}-version history; smaller runs read n/a. Dedup's <= ${DEDUP_RATIO_MAX}x is this benchmark's own bound for "identical values cost one copy".`,
    ...r.notes,
    ...r.failures.map((x) => `FAILED ${x.split("\n")[0]}`), // A
  ];
}


function textTable(rows: readonly string[][]): string { // A
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))); // A
  return rows.map((r) => r.map((c, i) => (i > 0 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ")).join("\n"); // A
}

function markdownTable(rows: readonly string[][]): string { // A
  const rule = `|${rows[0]!.map((_, i) => (i === 0 ? "---" : "---:")).join("|")}|`; // A
  return [`| ${rows[0]!.join(" | ")} |`, rule, ...rows.slice(1).map((r) => `| ${r.join(" | ")} |`)].join("\n"); // A
}


/** The commit the working tree is on (read from .git, no git process), or "?"; uncommitted changes are not detected. */
function gitCommit(): string { // A
  try {
    const git = join(repoRoot(), ".git");
    const head = readFileSync(join(git, "HEAD"), "utf8").trim();
    if (!head.startsWith("ref: ")) return head.slice(0, 12);
    const ref = head.slice(5);
    if (existsSync(join(git, ref))) return readFileSync(join(git, ref), "utf8").trim().slice(0, 12);
    const packed = readFileSync(join(git, "packed-refs"), "utf8").split("\n").find((l) => l.endsWith(` ${ref}`)); // A
    return packed?.slice(0, 12) ?? "?";
  } catch {
    return "?";
  }
}


function commandText(): string { // A
  const args = process.argv.slice(2).join(" ");
  if (process.env.npm_lifecycle_event === "bench") return `npm run bench -- ${args}`;
  const script = process.argv[1] === undefined ? "" : relative(repoRoot(), process.argv[1]);
  return `${runtimeName().split(" ")[0]} ${script} ${args}`.trim();
}
