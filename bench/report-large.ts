/**
 * The report's parts for the issue-4 cases (tables and notes), and every
 * chart of a run: one SVG per case (ours and each peer) plus the overview of
 * ours' ratios with the targets. run.ts writes what this returns.
 */
import { advantage, barChartSvg, chartSlug, ratioChartSvg } from "./charts.ts";
import type { BarChartSpec, RatioRow } from "./charts.ts";
import type { LargeOptions } from "./cases-large.ts";
import type { CaseName, Flavour, Measurement } from "./cases.ts";
import { ENGINE_NAMES } from "./engines.ts";
import type { EngineName } from "./engines.ts";
import { megabytes, ratioTargets } from "./targets.ts";
import type { LargeFigures } from "./targets.ts";

export interface ChartFile {
  file: string;
  title: string;
  svg: string;
}

/** ours / peer per throughput row, as run.ts computes it (`crossFlavour`: the peer's other flavour). */
export interface ThroughputRatio {
  row: string;
  peer: EngineName;
  ratio: number;
  crossFlavour: boolean;
}

const MiB = 1024 * 1024;

function fmt(v: number | undefined, digits: number, unit = ""): string { // A
  return v === undefined || !Number.isFinite(v) ? "-" : `${v.toFixed(digits)}${unit}`;
}

function mib(bytes: number | undefined): string { // A
  return bytes === undefined ? "n/a" : `${(bytes / MiB).toFixed(1)} MiB`;
}

/** Tables of the issue-4 cases (header row first), only those with figures. */
export function largeTables(engines: readonly EngineName[], f: LargeFigures): string[][][] { // A
  const out: string[][][] = [];
  const big = (e: EngineName, fl: string) => f.bigValues.find((r) => r.engine === e && r.flavour === fl); // A
  if (f.bigValues.length > 0) {
    const n = f.bigValues[0];
    out.push([
      [`bigvalues: ${n.puts} x ${((n.userBytes / n.puts - 16) / 1024).toFixed(0)} KiB`, ...engines],
      ["MB/s, one at a time", ...engines.map((e) => fmt(big(e, "single")?.mbPerSec, 0))], // A
      ["MB/s, batches of 100", ...engines.map((e) => fmt(big(e, "batch100")?.mbPerSec, 0))], // A
      ["write amp, one at a time", ...engines.map((e) => fmt(big(e, "single")?.writeAmplification, 2, "x"))], // A
      ["write amp, batches of 100", ...engines.map((e) => fmt(big(e, "batch100")?.writeAmplification, 2, "x"))], // A
    ]);
  }
  if (f.overwrite.length > 0) {
    const ow = (e: EngineName) => f.overwrite.find((r) => r.engine === e); // A
    out.push([
      [`overwrite: ${f.overwrite[0].keys} keys x 4 writes`, ...engines],
      ["write (s)", ...engines.map((e) => fmt(ow(e)?.writeSeconds, 2))], // A
      ["directory before compaction", ...engines.map((e) => (ow(e) === undefined ? "-" : megabytes(ow(e)!.bytesBeforeCompaction)))], // A
      ["directory after compaction/GC", ...engines.map((e) => (ow(e) === undefined ? "-" : megabytes(ow(e)!.dirBytes)))], // A
      ["/ live bytes", ...engines.map((e) => fmt(ow(e)?.ratio, 2, "x"))], // A
    ]);
  }
  if (f.open.length > 0) {
    const op = (e: EngineName, kind: string) => f.open.find((r) => r.engine === e && r.kind === kind); // A
    const clean = f.open.find((r) => r.kind === "clean"); // A
    const crash = op("ours", "crash");
    out.push([
      ["open (ms)", ...engines],
      [`clean, ${clean?.keys ?? "?"} keys, first open`, ...engines.map((e) => fmt(op(e, "clean")?.firstMs, 1))], // A
      ["clean, best of 3 more", ...engines.map((e) => fmt(op(e, "clean")?.bestMs, 1))], // A
      ...(crash === undefined ? [] : [[`after SIGKILL, ${megabytes(crash.walBytes ?? 0)} WAL`, ...engines.map((e) => fmt(op(e, "crash")?.firstMs, 0))]]), // A
    ]);
  }
  if (f.memory.length > 0) {
    out.push([
      ["memory (ours, child process)", "keys", "peak RSS", "RSS before open", "engine memory, max", "engine budget", "fill (s)", "reads (s)"],
      ...f.memory.map((m) => [`profile ${m.profile}`, String(m.keys), mib(m.peakRssBytes), mib(m.rssBeforeOpenBytes), mib(m.engineMemoryBytes), mib(m.engineBudgetBytes), // A
        fmt(m.fillSeconds, 1), fmt(m.readSeconds, 1)]),
    ]);
  }
  return out;
}

export function largeNotes(f: LargeFigures, o: LargeOptions): string[] { // A
  const notes: string[] = [];
  if (f.bigValues.length > 0) {
    const methods = [...new Set(f.bigValues.map((r) => r.method))].join(", "); // A
    notes.push(`bigvalues: ${o.bigCount} random 16 B keys with distinct ${o.bigValueBytes} B random values into a fresh database per flavour; one at a time = each put awaited ` +
      `before the next (\`putSync\` where the engine has no async put), or awaited batches of ${o.bigBatch}. MB/s of key + value bytes. Write amplification = ` +
      `bytes written from open through close (${methods}; includes each engine's own background threads) / user bytes.`);
  }
  if (f.overwrite.length > 0) {
    notes.push(`overwrite: ${o.overwriteKeys} keys of ${o.overwriteValueBytes} B written once and overwritten ${o.overwriteRounds} times (batches of 100), then: ` +
      f.overwrite.map((r) => `${r.engine}: ${r.maintenance}`).join("; ") + "; then closed and measured."); // A
  }
  if (f.open.length > 0) {
    notes.push(`open: a database of sequential keys (100 B values, batches of 1000) closed cleanly, then opened and closed 4 times; the first open is the figure.`);
    for (const c of f.open.filter((r) => r.kind === "crash")) notes.push(`open after a crash: ${c.detail ?? ""}.`); // A
  }
  for (const m of f.memory) {
    if (m.error !== undefined) notes.push(`memory, profile ${m.profile}: FAILED: ${m.error}`);
  }
  if (f.memory.length > 0) {
    const sources = [...new Set(f.memory.map((m) => m.peakRssSource).filter((x) => x !== undefined))].join(", "); // A
    notes.push(`memory: a child process per profile (openDB(dir, { profile })), batches of 1000 then getSync; peak RSS from ${sources || "n/a"}; ` +
      "engine memory is the largest db.stats().memory.usedBytes sampled after every batch and every 10,000 reads (n/a where the engine does not report it).");
  }
  return notes;
}

interface ChartInput {
  measurements: readonly Measurement[];
  rows: ReadonlyArray<readonly [CaseName, Flavour]>;
  ratios: readonly ThroughputRatio[];
  large: LargeFigures;
  /** What the data set was, for the subtitles. */
  dataNote: string;
}

/** Every chart of the run: per-case bars, then the overview. */
export function buildCharts(c: ChartInput): ChartFile[] { // A
  const engines = ENGINE_NAMES.filter((e) => e === "ours" || hasEngine(c, e)); // A
  const specs: Array<[string, BarChartSpec]> = [];
  const bars = (value: (e: EngineName) => number | undefined) => engines.map((e) => ({ label: e, value: value(e) })); // A
  const spec = (title: string, subtitle: string, unit: string, better: "higher" | "lower", value: (e: EngineName) => number | undefined): BarChartSpec => ({ // A
    title, subtitle, unit, better, bars: bars(value), reference: engines.indexOf("ours"),
  });
  for (const [cs, fl] of c.rows) {
    const value = (e: EngineName) => c.measurements.find((m) => m.engine === e && m.case === cs && m.flavour === fl)?.opsPerSec; // A
    if (engines.some((e) => value(e) !== undefined)) specs.push([`${cs}:${fl}`, spec(`${cs}:${fl}`, c.dataNote, "ops/s", "higher", value)]); // A
  }
  const f = c.large;
  for (const fl of ["single", "batch100"] as const) {
    const rows = f.bigValues.filter((r) => r.flavour === fl); // A
    if (rows.length === 0) continue;
    const sub = `${rows[0].puts} puts of ${((rows[0].userBytes / rows[0].puts - 16) / 1024).toFixed(0)} KiB, ${fl === "single" ? "one at a time" : "batches of 100"}`;
    const find = (e: EngineName) => rows.find((r) => r.engine === e); // A
    specs.push([`bigvalues:${fl}`, spec(`bigvalues:${fl}`, sub, "MB/s", "higher", (e) => find(e)?.mbPerSec)]); // A
    specs.push([`bigvalues:${fl} write amp`, spec(`bigvalues:${fl} write amplification`, `${sub}; ${rows[0].method}`, "x", "lower", (e) => find(e)?.writeAmplification)]); // A
  }
  if (f.overwrite.length > 0) {
    const sub = `${f.overwrite[0].keys} keys x 4 writes of 4 KiB, then compaction/GC; directory / live bytes`;
    specs.push(["overwrite:space", spec("overwrite: space after compaction/GC", sub, "x live", "lower", (e) => f.overwrite.find((r) => r.engine === e)?.ratio)]); // A
  }
  const clean = f.open.filter((r) => r.kind === "clean"); // A
  if (clean.length > 0) {
    specs.push(["open:clean", spec("open: cleanly closed database", `${clean[0].keys} keys, first open after close`, "ms", "lower", // A
      (e) => clean.find((r) => r.engine === e)?.firstMs)]); // A
  }
  const out = specs.map(([name, s]) => ({ file: `chart-${chartSlug(name)}.svg`, title: name, svg: barChartSvg(s) })); // A
  const overview = overviewRows(c, specs);
  if (overview.length > 0) {
    out.unshift({ file: "chart-overview.svg", title: "overview", svg: ratioChartSvg({ title: "OuroborosDB vs peers: ours' advantage per case", subtitle: c.dataNote, rows: overview }) });
  }
  return out;
}

function hasEngine(c: ChartInput, e: EngineName): boolean { // A
  const f = c.large;
  return c.measurements.some((m) => m.engine === e) || [...f.bigValues, ...f.overwrite, ...f.open].some((r) => r.engine === e); // A
}

/** Throughput rows from run.ts's ratios (with the targets), then the issue-4 per-case charts' ratios. */
function overviewRows(c: ChartInput, specs: ReadonlyArray<readonly [string, BarChartSpec]>): RatioRow[] { // A
  const targets = ratioTargets();
  const target = (row: string, peer: EngineName) => targets.find((t) => t.row === row && t.peer === peer)?.min; // A
  const out: RatioRow[] = c.ratios.map((r) => ({ // A
    group: r.row, label: `${r.peer}${r.crossFlavour ? " *" : ""}`, ratio: r.ratio, target: target(r.row, r.peer),
  }));
  for (const [name, s] of specs) {
    if (!name.startsWith("bigvalues") && !name.startsWith("overwrite") && !name.startsWith("open")) continue;
    const ours = s.reference === undefined ? undefined : s.bars[s.reference]?.value;
    for (const b of s.bars) {
      if (b.label === "ours") continue;
      const r = advantage(ours, b.value, s.better);
      if (r !== undefined) out.push({ group: name, label: b.label, ratio: r, target: target(name, b.label as EngineName) });
    }
  }
  return out;
}
