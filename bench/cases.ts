/**
 * The benchmark cases, after LevelDB's db_bench: fillseq, fillrandom, single
 * awaited puts, readrandom and readseq, 16-byte keys and 100-byte random
 * values. All keys and values are generated (from a fixed seed) before any
 * timing starts; a timed loop does nothing but call the engine.
 *
 * Every engine runs in its own temporary directory under os.tmpdir(), one
 * fresh database per case family, removed when the engine is done. Reads
 * run on the fillrandom database after a close and reopen, so they see the
 * engine's state as it is recovered from disk, not its write-path caches.
 *
 * Between the fillrandom load and that reopen, the "compact" case runs each
 * engine's full compaction (timed), then, after the close, sums the bytes of
 * every file in the database directory. Compacting before the reopen means
 * the read cases see the compacted state: what a real LSM serves reads from
 * once its background work has caught up. Without "compact" in --cases the
 * size is still reported, labelled as uncompacted, and reads see the tree as
 * the load left it.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import type { Engine, EngineName, EngineShape } from "./engines.ts";

export const CASE_NAMES = ["fillseq", "fillrandom", "compact", "single", "readrandom", "readseq"] as const;
export type CaseName = (typeof CASE_NAMES)[number];

/** How an operation is issued: a batch of puts, an awaited call, or a synchronous call. */
export type Flavour = "batch" | "await" | "sync";

export const KEY_BYTES = 16;
export const VALUE_BYTES = 100;

export interface Measurement {
  engine: EngineName;
  case: CaseName;
  flavour: Flavour;
  api: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
  /** Resident set size right after the timed loop, before the database is closed. */
  rssBytes: number;
}

/** A timed step that is not a throughput (reopening the filled database, compacting it). */
export interface Timing {
  engine: EngineName;
  name: string;
  seconds: number;
}

/** Bytes on disk of a closed database directory, every file counted, recursively. */
export interface DiskUsage {
  engine: EngineName;
  /** "after fillrandom + compaction", or "after fillrandom (not compacted)". */
  stage: string;
  compacted: boolean;
  /** Sum of the files' sizes (st_size). */
  bytes: number;
  /** Sum of the blocks the files occupy (st_blocks * 512; below `bytes` for sparse files), where the runtime reports it. */
  allocatedBytes: number | undefined;
  files: number;
  /** keys * (KEY_BYTES + VALUE_BYTES): what the data set itself weighs. */
  payloadBytes: number;
}

/** An engine's own view of its internals after a step (ours: `db.stats()`). */
export interface ShapeReport extends EngineShape {
  engine: EngineName;
  stage: string;
}

export interface CaseOptions {
  keys: number;
  single: number;
  reads: number;
  batch: number;
  cases: ReadonlySet<CaseName>;
}

export interface Sink {
  measurement(m: Measurement): void;
  timing(t: Timing): void;
  disk(d: DiskUsage): void;
  shape(s: ShapeReport): void;
}

/**
 * Fixed-size byte strings stored back to back in one buffer; `at(i)` makes a
 * view on demand. Holding 3M views up front (the first version of this
 * harness) put 550 MB of long-lived objects in the JS heap, which taxed the
 * garbage collector of every engine that allocates on the JS heap.
 */
export class Column {
  constructor(private readonly buf: Uint8Array, private readonly size: number, readonly length: number) {} // A

  at(i: number): Uint8Array { // A
    return this.buf.subarray(i * this.size, (i + 1) * this.size);
  }
}

export interface Dataset {
  /** Zero-padded decimal counters, ASCII: "0000000000000000", "0000000000000001", ... */
  seqKeys: Column;
  /** Uniformly random 16-byte keys (distinct with overwhelming probability). */
  randKeys: Column;
  values: Column;
  /** Random keys for the single-put cases, one per operation. */
  singleKeys: Column;
  /** Indices into randKeys for readrandom, uniform with replacement. */
  readOrder: Uint32Array;
}

/** A small seeded generator (mulberry32): the data set is the same on every run and runtime. */
export function seededWords(seed: number): () => number { // A
  let s = seed >>> 0;
  return function next(): number { // A
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function randomBytes(next: () => number, length: number): Uint8Array { // A
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer, 0, length);
}

function sequentialKeys(count: number): Column { // A
  const buf = new Uint8Array(count * KEY_BYTES);
  for (let i = 0; i < count; i++) {
    const digits = String(i).padStart(KEY_BYTES, "0");
    for (let j = 0; j < KEY_BYTES; j++) buf[i * KEY_BYTES + j] = digits.charCodeAt(j);
  }
  return new Column(buf, KEY_BYTES, count);
}

export function makeDataset(o: CaseOptions, seed: number): Dataset { // A
  const next = seededWords(seed);
  const readOrder = new Uint32Array(o.reads);
  for (let i = 0; i < o.reads; i++) readOrder[i] = next() % o.keys;
  return {
    seqKeys: sequentialKeys(o.keys),
    randKeys: new Column(randomBytes(next, o.keys * KEY_BYTES), KEY_BYTES, o.keys),
    values: new Column(randomBytes(next, o.keys * VALUE_BYTES), VALUE_BYTES, o.keys),
    singleKeys: new Column(randomBytes(next, o.single * KEY_BYTES), KEY_BYTES, o.single),
    readOrder,
  };
}

/** Runs the selected cases against one engine. Throws on the first failure (the caller reports it). */
export async function runEngine(engine: Engine, data: Dataset, o: CaseOptions, sink: Sink): Promise<void> { // A
  const root = mkdtempSync(join(tmpdir(), `ouro-bench-${engine.name}-`));
  try {
    if (o.cases.has("fillseq")) await runFillSeq(engine, data, o, sink, join(root, "fillseq"));
    const needRandom = o.cases.has("fillrandom") || o.cases.has("compact") || o.cases.has("readrandom") || o.cases.has("readseq");
    if (needRandom) await runRandomFamily(engine, data, o, sink, join(root, "fillrandom"));
    if (o.cases.has("single")) await runSingle(engine, data, o, sink, root);
  } finally {
    await engine.close().catch(ignore);
    rmSync(root, { recursive: true, force: true });
  }
}

function ignore(): void {} // A

async function runFillSeq(engine: Engine, data: Dataset, o: CaseOptions, sink: Sink, dir: string): Promise<void> { // A
  mkdirSync(dir);
  await engine.open(dir);
  const seconds = await fill(engine, data.seqKeys, data.values, o.batch);
  sink.measurement(measure(engine, "fillseq", "batch", "batch", o.keys, seconds));
  reportShape(engine, sink, "after fillseq");
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

/** fillrandom into a fresh database, compact it, close, measure the directory, reopen, readrandom and readseq on it. */
async function runRandomFamily(engine: Engine, data: Dataset, o: CaseOptions, sink: Sink, dir: string): Promise<void> { // A
  mkdirSync(dir);
  await engine.open(dir);
  const seconds = await fill(engine, data.randKeys, data.values, o.batch);
  if (o.cases.has("fillrandom")) sink.measurement(measure(engine, "fillrandom", "batch", "batch", o.keys, seconds));
  reportShape(engine, sink, "after fillrandom");
  const compacted = o.cases.has("compact");
  if (compacted) await runCompact(engine, sink);
  await engine.close();
  const stage = compacted ? "after fillrandom + compaction" : "after fillrandom (not compacted)";
  sink.disk({ engine: engine.name, stage, compacted, ...directoryUsage(dir), payloadBytes: o.keys * (KEY_BYTES + VALUE_BYTES) });
  collectGarbage();
  const t0 = performance.now();
  await engine.open(dir);
  sink.timing({ engine: engine.name, name: "reopen after fillrandom", seconds: (performance.now() - t0) / 1000 });
  if (o.cases.has("readrandom")) await runReadRandom(engine, data, o, sink);
  if (o.cases.has("readseq")) await runReadSeq(engine, o, sink);
  await engine.close();
  rmSync(dir, { recursive: true, force: true });
}

/** The engine's full compaction, timed (an engine without one gets no timing row), then its shape. */
async function runCompact(engine: Engine, sink: Sink): Promise<void> { // A
  if (engine.compact === undefined) return;
  collectGarbage();
  // A 1 ms timer measures how long the event loop went without a turn while the compaction ran.
  let last = performance.now();
  let longestPause = 0;
  const probe = setInterval(() => { // A
    const now = performance.now();
    longestPause = Math.max(longestPause, now - last);
    last = now;
  }, 1);
  const t0 = performance.now();
  try {
    await engine.compact();
  } finally {
    clearInterval(probe);
  }
  sink.timing({ engine: engine.name, name: "compaction after fillrandom", seconds: (performance.now() - t0) / 1000 });
  sink.timing({ engine: engine.name, name: "longest event-loop pause in it", seconds: Math.max(longestPause, performance.now() - last) / 1000 });
  reportShape(engine, sink, "after compaction");
}

function reportShape(engine: Engine, sink: Sink, stage: string): void { // A
  const shape = engine.shape?.();
  if (shape !== undefined) sink.shape({ engine: engine.name, stage, ...shape });
}

const DIRECTORY_DEPTH_MAX = 8;
const DIRECTORY_ENTRIES_MAX = 100_000;

/** Sums every regular file under `dir` (bounded depth and entry count: a runaway directory is an error, not a hang). */
function directoryUsage(dir: string): { bytes: number; allocatedBytes: number | undefined; files: number } { // A
  const total = { bytes: 0, allocatedBytes: 0 as number | undefined, files: 0 };
  const walk = (d: string, depth: number): void => { // A
    if (depth > DIRECTORY_DEPTH_MAX) throw new Error(`disk usage: ${d} nests deeper than ${DIRECTORY_DEPTH_MAX}`);
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path, depth + 1);
      else if (entry.isFile()) addFile(total, statSync(path));
      if (total.files > DIRECTORY_ENTRIES_MAX) throw new Error(`disk usage: more than ${DIRECTORY_ENTRIES_MAX} files under ${dir}`);
    }
  };
  walk(dir, 0);
  return total;
}

function addFile(total: { bytes: number; allocatedBytes: number | undefined; files: number }, st: { size: number; blocks?: number }): void { // A
  total.files++;
  total.bytes += st.size;
  const blocks = st.blocks;
  if (total.allocatedBytes !== undefined) total.allocatedBytes = typeof blocks === "number" && Number.isFinite(blocks) ? total.allocatedBytes + blocks * 512 : undefined;
}

async function runReadRandom(engine: Engine, data: Dataset, o: CaseOptions, sink: Sink): Promise<void> { // A
  if (engine.get !== undefined) {
    collectGarbage();
    const [seconds, misses] = await readRandomAwait(engine, data);
    checkNoMisses(engine, "await", misses);
    sink.measurement(measure(engine, "readrandom", "await", "get", o.reads, seconds));
  }
  if (engine.getSync !== undefined) {
    collectGarbage();
    const [seconds, misses] = readRandomSync(engine, data);
    checkNoMisses(engine, "sync", misses);
    sink.measurement(measure(engine, "readrandom", "sync", "getSync", o.reads, seconds));
  }
  await checkValuesSample(engine, data);
}

async function runReadSeq(engine: Engine, o: CaseOptions, sink: Sink): Promise<void> { // A
  if (engine.scan !== undefined) {
    collectGarbage();
    const t0 = performance.now();
    const count = await engine.scan();
    const seconds = (performance.now() - t0) / 1000;
    checkCount(engine, "await", count, o.keys);
    sink.measurement(measure(engine, "readseq", "await", "scan", count, seconds));
  }
  if (engine.scanSync !== undefined) {
    collectGarbage();
    const t0 = performance.now();
    const count = engine.scanSync();
    const seconds = (performance.now() - t0) / 1000;
    checkCount(engine, "sync", count, o.keys);
    sink.measurement(measure(engine, "readseq", "sync", "scanSync", count, seconds));
  }
}

/** Single puts, one at a time, each into its own fresh database: awaited `put`, then `putSync` where the API has one. */
async function runSingle(engine: Engine, data: Dataset, o: CaseOptions, sink: Sink, root: string): Promise<void> { // A
  if (engine.put !== undefined) {
    const dir = join(root, "single-await");
    mkdirSync(dir);
    await engine.open(dir);
    collectGarbage();
    const seconds = await singleAwait(engine, data);
    sink.measurement(measure(engine, "single", "await", "put", o.single, seconds));
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (engine.putSync !== undefined) {
    const dir = join(root, "single-sync");
    mkdirSync(dir);
    await engine.open(dir);
    collectGarbage();
    const seconds = singleSync(engine, data);
    sink.measurement(measure(engine, "single", "sync", "putSync", o.single, seconds));
    await engine.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

// The timed loops. Each returns seconds; nothing but the engine call happens inside.

async function fill(engine: Engine, keys: Column, values: Column, batch: number): Promise<number> { // A
  collectGarbage();
  const n = keys.length;
  const t0 = performance.now();
  for (let i = 0; i < n; i += batch) await engine.putBatch(keys, values, i, Math.min(n, i + batch));
  return (performance.now() - t0) / 1000;
}

async function singleAwait(engine: Engine, data: Dataset): Promise<number> { // A
  const keys = data.singleKeys;
  const values = data.values;
  const t0 = performance.now();
  for (let i = 0; i < keys.length; i++) await engine.put!(keys.at(i), values.at(i % values.length));
  return (performance.now() - t0) / 1000;
}

function singleSync(engine: Engine, data: Dataset): number { // A
  const keys = data.singleKeys;
  const values = data.values;
  const t0 = performance.now();
  for (let i = 0; i < keys.length; i++) engine.putSync!(keys.at(i), values.at(i % values.length));
  return (performance.now() - t0) / 1000;
}

async function readRandomAwait(engine: Engine, data: Dataset): Promise<[number, number]> { // A
  const keys = data.randKeys;
  const order = data.readOrder;
  let misses = 0;
  const t0 = performance.now();
  for (let i = 0; i < order.length; i++) {
    if ((await engine.get!(keys.at(order[i]))) === undefined) misses++;
  }
  return [(performance.now() - t0) / 1000, misses];
}

function readRandomSync(engine: Engine, data: Dataset): [number, number] { // A
  const keys = data.randKeys;
  const order = data.readOrder;
  let misses = 0;
  const t0 = performance.now();
  for (let i = 0; i < order.length; i++) {
    if (engine.getSync!(keys.at(order[i])) === undefined) misses++;
  }
  return [(performance.now() - t0) / 1000, misses];
}

// Checks, outside the timed loops: a benchmark of a wrong answer is worthless.

function checkNoMisses(engine: Engine, flavour: Flavour, misses: number): void { // A
  if (misses !== 0) throw new Error(`${engine.name} readrandom (${flavour}): ${misses} keys written by fillrandom were not found`);
}

function checkCount(engine: Engine, flavour: Flavour, count: number, expected: number): void { // A
  if (count !== expected) throw new Error(`${engine.name} readseq (${flavour}): scan saw ${count} entries, expected ${expected}`);
}

/** Compares the values of up to 1000 keys, spread over the data set, byte by byte. */
async function checkValuesSample(engine: Engine, data: Dataset): Promise<void> { // A
  const n = data.randKeys.length;
  const step = Math.max(1, Math.floor(n / 1000));
  for (let i = 0; i < n; i += step) {
    const got = engine.getSync !== undefined ? engine.getSync(data.randKeys.at(i)) : await engine.get!(data.randKeys.at(i));
    if (got === undefined || !sameBytes(got, data.values.at(i))) {
      throw new Error(`${engine.name}: the value read for key #${i} differs from the value written`);
    }
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean { // A
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function measure( // A
  engine: Engine,
  name: CaseName,
  flavour: Flavour,
  apiKey: string,
  ops: number,
  seconds: number,
): Measurement {
  return {
    engine: engine.name,
    case: name,
    flavour,
    api: engine.apis[apiKey] ?? apiKey,
    ops,
    seconds,
    opsPerSec: ops / seconds,
    rssBytes: rssBytes(),
  };
}

export function rssBytes(): number { // A
  return process.memoryUsage().rss;
}

let gcFn: (() => void) | undefined;

/**
 * Makes a full garbage collection available between timed sections, so one
 * case does not pay for the garbage of the one before. Node: --expose-gc set
 * at run time; Bun: Bun.gc; elsewhere a no-op.
 */
export async function enableGc(): Promise<string> { // A
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void }; Deno?: unknown };
  if (typeof g.gc === "function") {
    gcFn = g.gc;
    return "global gc()";
  }
  if (g.Bun !== undefined) {
    const bun = g.Bun;
    gcFn = function bunGc(): void { // A
      bun.gc(true);
    };
    return "Bun.gc(true)";
  }
  if (g.Deno !== undefined) return "none (Deno)";
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    gcFn = vm.runInNewContext("gc") as () => void;
    return "v8 --expose-gc at run time";
  } catch {
    return "none";
  }
}

export function collectGarbage(): void { // A
  gcFn?.();
}
