/**
 * The cases of issue 4 that run against every engine in this process:
 *
 * - bigvalues: 10,000 puts of 64 KiB random values into a fresh database,
 *   once one at a time (each put awaited before the next; `putSync` where the
 *   engine has no async put) and once in awaited batches of 100. MB/s of user
 *   bytes (key + value), and write amplification: bytes this process wrote
 *   to disk from open through close (Linux /proc/self/io write_bytes, which
 *   counts the engines' native threads too) over the user bytes; where that
 *   file is missing, the closed directory's size over the user bytes.
 * - overwrite: 20,000 keys of 4 KiB values, every key written once and then
 *   overwritten 3 times (batches of 100), then the engine's compaction and
 *   value-log GC where it has them; the closed directory's bytes over the
 *   live bytes (keys x (16 + 4096)).
 * - open: a database of --keys sequential keys (100 B values, batches of
 *   1000; sequential so that every engine, SQLite included, builds it in a
 *   few seconds) is closed cleanly and opened again, timed: the first open
 *   is the figure, the best of three more is printed beside it.
 *
 * Values are 64 KiB (or 4 KiB) windows of one 16 MiB random buffer at
 * offsets i * stride mod 16 MiB, stride odd and larger than a value: every
 * value is distinct and incompressible on its own (no engine here compresses
 * across values), and 655 MB of values cost 16 MiB of memory.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { collectGarbage, Column, KEY_BYTES, seededWords } from "./cases.ts";
import type { Dataset } from "./cases.ts";
import type { Engine, EngineName } from "./engines.ts";

export const LARGE_CASE_NAMES = ["bigvalues", "overwrite", "open", "memory"] as const;
export type LargeCaseName = (typeof LARGE_CASE_NAMES)[number];

export interface LargeOptions {
  cases: ReadonlySet<LargeCaseName>;
  /** bigvalues: puts per flavour (default 10,000). */
  bigCount: number;
  bigValueBytes: number;
  bigBatch: number;
  /** overwrite: keys (default 20,000), value size, overwrites after the first write. */
  overwriteKeys: number;
  overwriteValueBytes: number;
  overwriteRounds: number;
  /** open: keys of the cleanly closed database (the run's --keys). */
  openKeys: number;
  seed: number;
}

export type BigFlavour = "single" | "batch100";

export interface BigValuesResult {
  engine: EngineName;
  flavour: BigFlavour;
  api: string;
  puts: number;
  userBytes: number;
  seconds: number;
  mbPerSec: number;
  /** Bytes the process wrote to disk from open through close, or the closed directory's bytes (see `method`). */
  writtenBytes: number;
  writeAmplification: number;
  method: "/proc/self/io write_bytes" | "directory size";
}

export interface OverwriteResult {
  engine: EngineName;
  keys: number;
  writes: number;
  liveBytes: number;
  /** The directory while open, after the last overwrite (before compaction). */
  bytesBeforeCompaction: number;
  /** The closed directory after compaction and GC. */
  dirBytes: number;
  ratio: number;
  /** What was called after the overwrites. */
  maintenance: string;
  writeSeconds: number;
}

export interface OpenResult {
  engine: EngineName;
  kind: "clean" | "crash";
  keys: number;
  /** The first open after the close (or the crash). */
  firstMs: number;
  /** Best of the repeated opens, where repeated. */
  bestMs: number | undefined;
  /** crash: the WAL bytes on disk when the writer was killed; its options. */
  walBytes?: number;
  detail?: string;
}

export interface LargeSink {
  bigValues(r: BigValuesResult): void;
  overwrite(r: OverwriteResult): void;
  open(r: OpenResult): void;
}

const MB = 1e6;
const WINDOW_SPACE = 1 << 24;

/** Distinct `size`-byte values as windows of one random buffer (see the module comment). */
export class WindowColumn extends Column {
  constructor(private readonly space: Uint8Array, private readonly valueBytes: number, count: number, private readonly stride: number) { // A
    super(space, valueBytes, count);
  }

  /** `count` values of `valueBytes` over a fresh seeded random buffer; `stride` odd and above `valueBytes`. */
  static random(seed: number, valueBytes: number, count: number, stride: number): WindowColumn { // A
    const next = seededWords(seed);
    const words = new Uint32Array(Math.ceil((WINDOW_SPACE + valueBytes) / 4));
    for (let i = 0; i < words.length; i++) words[i] = next();
    return new WindowColumn(new Uint8Array(words.buffer, 0, WINDOW_SPACE + valueBytes), valueBytes, count, stride);
  }

  override at(i: number): Uint8Array { // A
    const offset = (i * this.stride) % WINDOW_SPACE;
    return this.space.subarray(offset, offset + this.valueBytes);
  }
}

export function randomKeys(seed: number, count: number): Column { // A
  const next = seededWords(seed);
  const words = new Uint32Array((count * KEY_BYTES) / 4);
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Column(new Uint8Array(words.buffer), KEY_BYTES, count);
}

/** Bytes this process has caused to be written to storage (Linux), or undefined where /proc/self/io is missing. */
export function processWriteBytes(): number | undefined { // A
  try {
    const text = readFileSync("/proc/self/io", "utf8");
    for (const line of text.split("\n")) {
      if (line.startsWith("write_bytes:")) {
        const n = Number(line.slice("write_bytes:".length).trim());
        return Number.isSafeInteger(n) ? n : undefined;
      }
    }
    return undefined;
  } catch {
    return undefined;
  }
}

const DIR_DEPTH_MAX = 8;
const DIR_FILES_MAX = 100_000;

/** Sum of the sizes of the regular files under `dir` (bounded walk); `filter` picks files by name. */
export function directoryBytes(dir: string, filter?: (name: string) => boolean): number { // A
  let bytes = 0, files = 0;
  const walk = (d: string, depth: number): void => { // A
    if (depth > DIR_DEPTH_MAX) throw new Error(`directory size: ${d} nests deeper than ${DIR_DEPTH_MAX}`);
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (++files > DIR_FILES_MAX) throw new Error(`directory size: more than ${DIR_FILES_MAX} entries under ${dir}`);
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p, depth + 1);
      else if (e.isFile() && (filter === undefined || filter(e.name))) bytes += statSync(p).size;
    }
  };
  walk(dir, 0);
  return bytes;
}

/** Runs the selected in-process large cases against one engine, each in a fresh directory under `root`. */
export async function runLargeCases(engine: Engine, data: Dataset, o: LargeOptions, sink: LargeSink, root: string): Promise<void> { // A
  if (o.cases.has("bigvalues")) {
    const keys = randomKeys(o.seed + 101, o.bigCount);
    const values = WindowColumn.random(o.seed + 102, o.bigValueBytes, o.bigCount, o.bigValueBytes + 1);
    if (engine.put !== undefined || engine.putSync !== undefined) sink.bigValues(await bigValues(engine, keys, values, "single", o.bigBatch, join(root, "big-single")));
    sink.bigValues(await bigValues(engine, keys, values, "batch100", o.bigBatch, join(root, "big-batch")));
  }
  if (o.cases.has("overwrite")) sink.overwrite(await overwrite(engine, o, join(root, "overwrite")));
  if (o.cases.has("open")) sink.open(await cleanOpen(engine, data, o.openKeys, join(root, "open")));
}

async function bigValues( // A
  engine: Engine,
  keys: Column,
  values: Column,
  flavour: BigFlavour,
  batch: number,
  dir: string,
): Promise<BigValuesResult> {
  mkdirSync(dir, { recursive: true });
  collectGarbage();
  const n = keys.length;
  const before = processWriteBytes();
  await engine.open(dir);
  let seconds: number;
  let api: string;
  if (flavour === "single") {
    [seconds, api] = await putOneAtATime(engine, keys, values);
  } else {
    const t0 = performance.now();
    for (let i = 0; i < n; i += batch) await engine.putBatch(keys, values, i, Math.min(n, i + batch));
    seconds = (performance.now() - t0) / 1000;
    api = `${engine.apis.batch ?? "batch"} (batches of ${batch})`;
  }
  await engine.close();
  const after = processWriteBytes();
  const userBytes = n * (KEY_BYTES + values.at(0).length);
  const fromProc = before !== undefined && after !== undefined && after > before;
  const writtenBytes = fromProc ? after - before : directoryBytes(dir);
  rmSync(dir, { recursive: true, force: true });
  return {
    engine: engine.name, flavour, api, puts: n, userBytes, seconds, mbPerSec: userBytes / MB / seconds,
    writtenBytes, writeAmplification: writtenBytes / userBytes, method: fromProc ? "/proc/self/io write_bytes" : "directory size",
  };
}

async function putOneAtATime(engine: Engine, keys: Column, values: Column): Promise<[number, string]> { // A
  const n = keys.length;
  const t0 = performance.now();
  if (engine.put !== undefined) {
    for (let i = 0; i < n; i++) await engine.put(keys.at(i), values.at(i));
    return [(performance.now() - t0) / 1000, engine.apis.put ?? "put"];
  }
  for (let i = 0; i < n; i++) engine.putSync!(keys.at(i), values.at(i));
  return [(performance.now() - t0) / 1000, engine.apis.putSync ?? "putSync"];
}

async function overwrite(engine: Engine, o: LargeOptions, dir: string): Promise<OverwriteResult> { // A
  mkdirSync(dir, { recursive: true });
  const n = o.overwriteKeys;
  const keys = randomKeys(o.seed + 201, n);
  const rounds = 1 + o.overwriteRounds;
  const values = WindowColumn.random(o.seed + 202, o.overwriteValueBytes, n * rounds, o.overwriteValueBytes + 1);
  // Round r writes key i with value r * n + i: a view whose at(i) is shifted by r * n.
  const shifted = (r: number): Column => new ShiftedColumn(values, r * n, n); // A
  await engine.open(dir);
  collectGarbage();
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    const v = shifted(r);
    for (let i = 0; i < n; i += 100) await engine.putBatch(keys, v, i, Math.min(n, i + 100));
  }
  const writeSeconds = (performance.now() - t0) / 1000;
  const bytesBeforeCompaction = directoryBytes(dir);
  const steps: string[] = [];
  if (engine.compact !== undefined) {
    await engine.compact();
    steps.push(engine.apis.compact ?? "compact");
  }
  const gc = await engine.gcValueLog?.();
  if (gc !== undefined) steps.push(gc);
  await engine.close();
  const dirBytes = directoryBytes(dir);
  rmSync(dir, { recursive: true, force: true });
  const liveBytes = n * (KEY_BYTES + o.overwriteValueBytes);
  return {
    engine: engine.name, keys: n, writes: n * rounds, liveBytes, bytesBeforeCompaction, dirBytes, ratio: dirBytes / liveBytes,
    maintenance: steps.length === 0 ? "none (no compaction API)" : steps.join(", then "), writeSeconds,
  };
}

class ShiftedColumn extends Column {
  constructor(private readonly base: Column, private readonly shift: number, length: number) { // A
    super(new Uint8Array(0), 1, length);
  }

  override at(i: number): Uint8Array { // A
    return this.base.at(i + this.shift);
  }
}

const REOPENS = 3;

/** Builds a database of `keys` sequential keys, closes it, then times the first open and the best of REOPENS more. */
async function cleanOpen(engine: Engine, data: Dataset, keys: number, dir: string): Promise<OpenResult> { // A
  mkdirSync(dir, { recursive: true });
  const n = Math.min(keys, data.seqKeys.length);
  await engine.open(dir);
  for (let i = 0; i < n; i += 1000) await engine.putBatch(data.seqKeys, data.values, i, Math.min(n, i + 1000));
  await engine.close();
  const times: number[] = [];
  for (let k = 0; k <= REOPENS; k++) {
    collectGarbage();
    const t0 = performance.now();
    await engine.open(dir);
    times.push(performance.now() - t0);
    await engine.close();
  }
  rmSync(dir, { recursive: true, force: true });
  return { engine: engine.name, kind: "clean", keys: n, firstMs: times[0], bestMs: Math.min(...times.slice(1)) };
}
