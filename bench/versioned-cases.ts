/**
 * The versioned store's benchmark cases (issue 5), each beside the engine's
 * own figure for the same work: 1 KiB puts (awaited one at a time, and
 * `inFlight` at once), random gets of existing keys after a reopen, the
 * history of one key with many versions (time, and heap growth while
 * streaming it), and content dedup (disk after identical vs distinct values).
 *
 * Every case gets fresh directories under `root`; all keys and values are
 * generated from a fixed seed before any timing starts, and a timed loop does
 * nothing but call the store or the engine. Both sides run with the engine's
 * default durability (`sync: false`). Results are checked outside the timed
 * loops (a sample of gets compared byte for byte, history counted), so a fast
 * wrong answer fails the run instead of printing a figure.
 *
 * Cost sketch of one versioned put, against one engine put: a heads prefix
 * scan + a record get, two SHA-256 (1 KiB value, ~100 B record), a point get
 * for the value's existence, and a 4-6 entry batch carrying ~1.2 KiB: a few
 * times the engine's single put, so 100k/s needs the engine near 300k+/s.
 */
import { mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { openDB } from "../src/engine/db.ts";
import { openStore } from "../src/versioned/open-store.ts";
import type { Store } from "../src/versioned/store.ts";
import { keyPrefixFor, NS_HISTORY } from "../src/versioned/keyspace.ts";
import { directoryBytes } from "./cases-large.ts";
import { collectGarbage, Column, seededWords } from "./cases.ts";

export const VERSIONED_CASES = ["put", "get", "history", "dedup"] as const;
export type VersionedCase = (typeof VERSIONED_CASES)[number];

export const KEY_BYTES = 16;
export const VALUE_BYTES = 1024;

export interface VersionedOptions {
  cases: ReadonlySet<VersionedCase>;
  /** Puts per put case (distinct keys), and the keys the get case reads. */
  versions: number;
  reads: number;
  /** Versions of the one key of the history case. */
  history: number;
  inFlight: number;
  dedupPuts: number;
  dedupValueBytes: number;
  seed: number;
}

export type Side = "store" | "engine";

export interface Throughput {
  case: "put" | "get";
  side: Side;
  /** 1 = awaited one at a time. */
  inFlight: number;
  /** A get pass after the cold ones: every block it needs is in the block cache. */
  warm?: boolean;
  api: string;
  ops: number;
  seconds: number;
  opsPerSec: number;
}

export interface HistoryResult {
  versions: number;
  /** Building the history: puts of one key, `inFlight` at once. */
  buildSeconds: number;
  /** One pass over the whole history after a reopen, no gc inside. */
  iterateSeconds: number;
  /** The engine alone: the raw history index of that key (keys only), same directory. */
  engineScanSeconds: number;
  /** heapUsed before the heap pass (after a gc), and growth over it every `sampleEvery` versions. */
  heapBaselineBytes: number;
  heapGrowthBytes: number[];
  heapGrowthMaxBytes: number;
  sampleEvery: number;
  gcForced: boolean;
}

export interface DedupResult {
  puts: number;
  valueBytes: number;
  /** Store directory after `puts` puts of one identical value to distinct keys, closed. */
  sameBytes: number;
  /** The same with every value distinct. */
  distinctBytes: number;
  /** The engine's `db.put` of the identical value to the same keys (no dedup), closed. */
  engineSameBytes: number;
  sameSeconds: number;
  distinctSeconds: number;
}

export interface VersionedSink {
  throughput(t: Throughput): void;
  note(text: string): void;
  history(h: HistoryResult): void;
  dedup(d: DedupResult): void;
}

export interface VersionedData {
  keys: Column;
  values: Column;
  readOrder: Uint32Array;
}

/** Keys, values and the read order, from the seed (the same on every run and runtime). */
export function makeVersionedData(o: VersionedOptions): VersionedData { // A
  const next = seededWords(o.seed);
  const n = Math.max(o.versions, 1);
  const readOrder = new Uint32Array(o.reads);
  for (let i = 0; i < o.reads; i++) readOrder[i] = next() % n;
  return { keys: new Column(randomBytes(next, n * KEY_BYTES), KEY_BYTES, n), values: new Column(randomBytes(next, n * VALUE_BYTES), VALUE_BYTES, n), readOrder };
}

function randomBytes(next: () => number, length: number): Uint8Array { // A
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = next();
  return new Uint8Array(words.buffer, 0, length);
}

/** Runs `op(0..n-1)`: one at a time when `inFlight` is 1, else that many awaiting workers. Returns seconds. */
async function timed(n: number, inFlight: number, op: (i: number) => Promise<unknown>): Promise<number> { // A
  const t0 = performance.now();
  if (inFlight <= 1) {
    for (let i = 0; i < n; i++) await op(i);
  } else {
    let next = 0;
    const worker = async (): Promise<void> => { // A
      while (next < n) await op(next++);
    };
    await Promise.all(Array.from({ length: Math.min(inFlight, n) }, worker));
  }
  return (performance.now() - t0) / 1000;
}

function result(c: "put" | "get", side: Side, inFlight: number, api: string, ops: number, seconds: number, warm = false): Throughput { // A
  const t: Throughput = { case: c, side, inFlight, api, ops, seconds, opsPerSec: ops / seconds };
  if (warm) t.warm = true;
  return t;
}

/** Cold passes (awaited, then `inFlight` at once) right after the reopen, then one warm awaited pass. */
async function getPasses(o: VersionedOptions, side: Side, api: string, n: number, read: (i: number) => Promise<unknown>, sink: VersionedSink): Promise<void> { // A
  for (const inFlight of [1, o.inFlight]) {
    collectGarbage();
    const s = await timed(n, inFlight, read);
    sink.throughput(result("get", side, inFlight, inFlight === 1 ? `await ${api}` : api, n, s));
  }
  collectGarbage();
  sink.throughput(result("get", side, 1, `await ${api}, warm`, n, await timed(n, 1, read), true));
}

/** The put and get cases. The awaited put runs leave the directories the gets read (after a reopen). */
export async function runPutGet(d: VersionedData, o: VersionedOptions, root: string, sink: VersionedSink): Promise<void> { // A
  const storeDir = join(root, "store-put");
  const dbDir = join(root, "db-put");
  const n = d.keys.length;
  const storePut = async (dir: string, inFlight: number): Promise<number> => { // A
    const store = await openStore(dir);
    collectGarbage();
    const s = await timed(n, inFlight, (i) => store.put(d.keys.at(i), d.values.at(i))); // A
    await store.close();
    return s;
  };
  const dbPut = async (dir: string, inFlight: number): Promise<number> => { // A
    const db = await openDB(dir);
    collectGarbage();
    const s = await timed(n, inFlight, (i) => db.put(d.keys.at(i), d.values.at(i))); // A
    await db.close();
    return s;
  };
  if (o.cases.has("put")) {
    sink.throughput(result("put", "store", 1, "await store.put", n, await storePut(storeDir, 1)));
    sink.throughput(result("put", "engine", 1, "await db.put", n, await dbPut(dbDir, 1)));
    for (const [side, dir] of [["store", join(root, "store-put-many")], ["engine", join(root, "db-put-many")]] as const) {
      const s = side === "store" ? await storePut(dir, o.inFlight) : await dbPut(dir, o.inFlight);
      sink.throughput(result("put", side, o.inFlight, side === "store" ? "store.put" : "db.put", n, s));
      rmSync(dir, { recursive: true, force: true });
    }
  } else if (o.cases.has("get")) {
    await storePut(storeDir, o.inFlight);
    await dbPut(dbDir, o.inFlight);
    sink.note(`get: the ${n} keys were loaded untimed (${o.inFlight} in flight), as the put case was not selected`);
  }
  if (o.cases.has("get")) await runGet(d, o, storeDir, dbDir, sink);
  rmSync(storeDir, { recursive: true, force: true });
  rmSync(dbDir, { recursive: true, force: true });
}

async function runGet(d: VersionedData, o: VersionedOptions, storeDir: string, dbDir: string, sink: VersionedSink): Promise<void> { // A
  const order = d.readOrder;
  let misses = 0;
  const count = (v: Uint8Array | undefined): void => { // A
    if (v === undefined) misses++;
  };
  const store = await openStore(storeDir);
  try {
    await checkSample(d, (k) => store.get(k), "store.get"); // A
    await getPasses(o, "store", "store.get", order.length, async (i) => count(await store.get(d.keys.at(order[i]!))), sink); // A
  } finally {
    await store.close();
  }
  const db = await openDB(dbDir);
  try {
    await checkSample(d, (k) => db.get(k), "db.get"); // A
    await getPasses(o, "engine", "db.get", order.length, async (i) => count(await db.get(d.keys.at(order[i]!))), sink); // A
  } finally {
    await db.close();
  }
  if (misses > 0) throw new Error(`get: ${misses} reads of existing keys found nothing`);
}

/** Up to 1000 keys read back and compared byte for byte with what was put. */
async function checkSample(d: VersionedData, get: (k: Uint8Array) => Promise<Uint8Array | undefined>, what: string): Promise<void> { // A
  const step = Math.max(1, Math.floor(d.keys.length / 1000));
  for (let i = 0; i < d.keys.length; i += step) {
    const v = await get(d.keys.at(i));
    if (v === undefined || !sameBytes(v, d.values.at(i))) throw new Error(`${what} of key #${i} returned ${v === undefined ? "nothing" : "a wrong value"}`);
  }
}

/** One key with `o.history` versions: build, reopen, a timed pass, a heap pass with gc, the engine's raw index scan. */
export async function runHistory(d: VersionedData, o: VersionedOptions, root: string, sink: VersionedSink, gcForced: boolean): Promise<void> { // A
  const dir = join(root, "history");
  const key = Uint8Array.from([0x68, 0x69, 0x73, 0x74]); // "hist"
  const h = o.history;
  let store = await openStore(dir);
  let lastId = "";
  const buildSeconds = await timed(h, o.inFlight, async (i) => { // A
    lastId = (await store.put(key, d.values.at(i % d.values.length))).id;
  });
  await store.close();
  store = await openStore(dir);
  let r: Omit<HistoryResult, "engineScanSeconds">;
  try {
    collectGarbage();
    const t0 = performance.now();
    let n = 0, first = "";
    for await (const v of store.history(key)) if (n++ === 0) first = v.id;
    const iterateSeconds = (performance.now() - t0) / 1000;
    if (n !== h || first !== lastId) throw new Error(`history: ${n} versions (expected ${h}), newest ${first.slice(0, 12)} (expected ${lastId.slice(0, 12)})`);
    r = { versions: h, buildSeconds, iterateSeconds, ...(await heapPass(store, key, h)), gcForced };
  } finally {
    await store.close();
  }
  const db = await openDB(dir);
  try {
    collectGarbage();
    const t0 = performance.now();
    let n = 0;
    for await (const _ of db.iterate({ prefix: keyPrefixFor(NS_HISTORY, key), values: false })) n++;
    const engineScanSeconds = (performance.now() - t0) / 1000;
    if (n !== h) throw new Error(`history: the raw index holds ${n} entries, expected ${h}`);
    sink.history({ ...r, engineScanSeconds });
  } finally {
    await db.close();
  }
  rmSync(dir, { recursive: true, force: true });
}

/** Streams the history once more, sampling heapUsed (after a gc, where there is one) every `sampleEvery` versions. */
async function heapPass( // A
  store: Store,
  key: Uint8Array,
  h: number,
): Promise<Pick<HistoryResult, "heapBaselineBytes" | "heapGrowthBytes" | "heapGrowthMaxBytes" | "sampleEvery">> {
  const sampleEvery = Math.max(1, Math.min(10_000, Math.floor(h / 10)));
  collectGarbage();
  const heapBaselineBytes = process.memoryUsage().heapUsed;
  const heapGrowthBytes: number[] = [];
  let n = 0;
  for await (const _ of store.history(key)) {
    if (++n % sampleEvery !== 0) continue;
    collectGarbage();
    heapGrowthBytes.push(process.memoryUsage().heapUsed - heapBaselineBytes);
  }
  return { heapBaselineBytes, heapGrowthBytes, heapGrowthMaxBytes: Math.max(0, ...heapGrowthBytes), sampleEvery };
}

/** Disk after `dedupPuts` puts of one identical value vs distinct values (store), and of the identical value (engine). */
export async function runDedup(o: VersionedOptions, root: string, sink: VersionedSink): Promise<void> { // A
  const n = o.dedupPuts;
  const next = seededWords(o.seed + 1);
  const base = randomBytes(next, o.dedupValueBytes);
  const keyOf = (i: number): string => `dedup-${String(i).padStart(8, "0")}`; // A
  const distinct = (i: number): Uint8Array => { // A
    const v = base.slice();
    new DataView(v.buffer).setUint32(0, i + 1);
    return v;
  };
  const storeRun = async (name: string, value: (i: number) => Uint8Array): Promise<[number, number]> => { // A
    const dir = join(root, name);
    const store = await openStore(dir);
    const s = await timed(n, 1, (i) => store.put(keyOf(i), value(i))); // A
    await store.close();
    const bytes = directoryBytes(dir);
    rmSync(dir, { recursive: true, force: true });
    return [bytes, s];
  };
  const [sameBytes, sameSeconds] = await storeRun("dedup-same", () => base); // A
  const [distinctBytes, distinctSeconds] = await storeRun("dedup-distinct", distinct);
  const dir = join(root, "dedup-engine");
  mkdirSync(dir, { recursive: true });
  const db = await openDB(dir);
  await timed(n, 1, (i) => db.put(keyOf(i), base)); // A
  await db.close();
  const engineSameBytes = directoryBytes(dir);
  rmSync(dir, { recursive: true, force: true });
  sink.dedup({ puts: n, valueBytes: o.dedupValueBytes, sameBytes, distinctBytes, engineSameBytes, sameSeconds, distinctSeconds });
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean { // A
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
