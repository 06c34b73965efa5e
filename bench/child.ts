/**
 * The child process of the benchmark's crash and memory cases (see
 * cases-process.ts), started by the same runtime from the same build:
 *
 *   child crash-writer DIR WAL_BYTES SEED
 *     writes batches until the `.log` files in DIR total WAL_BYTES, prints
 *     "ready N", and keeps writing until it is killed (it stops by itself
 *     after three times the target and exits with status 3 after 60 s idle).
 *   child memory DIR PROFILE KEYS SEED
 *     fillrandom of KEYS keys, then KEYS random getSync's, with
 *     openDB(DIR, { profile }); prints "result {json}" (a MemoryResult).
 */
import { readFileSync } from "node:fs";
import process from "node:process";
import { openDB } from "../src/index.ts";
import type { DB } from "../src/index.ts";
import { directoryBytes } from "./cases-large.ts";
import { childKey, childValues, CRASH_WRITER_OPTIONS } from "./cases-process.ts";
import type { MemoryProfile, MemoryResult } from "./cases-process.ts";
import { seededWords } from "./cases.ts";

const BATCH = 1000;
/** The memory child prints "progress STEP N SECONDS" this often, so a run killed at the time limit says how far it got. */
const PROGRESS_EVERY = 100_000;

function progress(step: string, done: number, since: number, engineMemoryBytes: number | undefined): void { // A
  const seconds = Number(((performance.now() - since) / 1000).toFixed(1));
  process.stdout.write(`progress ${JSON.stringify({ step, done, seconds, engineMemoryBytes, peakRssBytes: peakRss()[0] })}\n`);
}

async function writeBatch(db: DB, seed: number, first: number, count: number): Promise<void> { // A
  const values = childValues(seed, first, count);
  const b = db.batch();
  for (let k = 0; k < count; k++) b.put(childKey(seed, first + k), values.subarray(k * 100, (k + 1) * 100));
  await db.write(b);
}

async function crashWriter(dir: string, walTarget: number, seed: number): Promise<void> { // A
  const db = await openDB(dir, CRASH_WRITER_OPTIONS);
  const isLog = (name: string): boolean => name.endsWith(".log"); // A
  let ready = false;
  // Bounded: at ~130 WAL bytes per entry, 3x the target is far more batches than this allows to go unchecked.
  const batchesMax = Math.ceil((3 * walTarget) / (BATCH * 100)) + 10;
  for (let n = 0; n < batchesMax; n++) {
    await writeBatch(db, seed, n * BATCH, BATCH);
    if (!ready && n % 10 === 9 && directoryBytes(dir, isLog) >= walTarget) {
      ready = true;
      process.stdout.write(`ready ${directoryBytes(dir, isLog)}\n`);
    }
  }
  await new Promise((resolve) => setTimeout(resolve, 60_000)); // A
  process.exit(3);
}

/** The engine's memory from `db.stats().memory` (a number, or an object with a byte total), if the field exists. */
function engineMemory(db: DB): number | undefined { // A
  const m = (db.stats() as unknown as { memory?: unknown }).memory;
  if (typeof m === "number") return m;
  if (m === null || typeof m !== "object") return undefined;
  const o = m as Record<string, unknown>;
  for (const k of ["totalBytes", "usedBytes", "bytes", "total", "used"]) if (typeof o[k] === "number") return o[k] as number;
  return undefined;
}

/**
 * Peak RSS of this process: VmHWM from /proc/self/status where it exists.
 * Not `resourceUsage().maxRSS` there: Linux carries ru_maxrss over fork and
 * exec, so a child spawned by a 500 MB parent reports at least 500 MB.
 */
function peakRss(): [number, string] { // A
  try {
    for (const line of readFileSync("/proc/self/status", "utf8").split("\n")) {
      if (!line.startsWith("VmHWM:")) continue;
      const kb = Number(line.slice(6).trim().split(" ")[0]);
      if (Number.isSafeInteger(kb) && kb > 0) return [kb * 1024, "VmHWM (/proc/self/status)"];
    }
  } catch {
    // Not Linux: fall through.
  }
  return [process.resourceUsage().maxRSS * 1024, "process.resourceUsage().maxRSS (includes the parent's RSS at fork on some systems)"];
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined { // A
  return a === undefined ? b : b === undefined ? a : Math.max(a, b);
}

async function memory(dir: string, profile: MemoryProfile, keys: number, seed: number): Promise<void> { // A
  const rssBeforeOpenBytes = process.memoryUsage().rss;
  const db = await openDB(dir, { profile });
  let engineMax = engineMemory(db);
  const t0 = performance.now();
  for (let i = 0; i < keys; i += BATCH) {
    await writeBatch(db, seed, i, Math.min(BATCH, keys - i));
    engineMax = maxDefined(engineMax, engineMemory(db));
    if ((i + BATCH) % PROGRESS_EVERY === 0) progress("fill", i + BATCH, t0, engineMax);
  }
  const t1 = performance.now();
  const next = seededWords(seed + 7);
  let misses = 0;
  for (let i = 0; i < keys; i++) {
    if (db.getSync(childKey(seed, next() % keys)) === undefined) misses++;
    if (i % 10_000 === 0) engineMax = maxDefined(engineMax, engineMemory(db));
    if ((i + 1) % PROGRESS_EVERY === 0) progress("reads", i + 1, t1, engineMax);
  }
  const t2 = performance.now();
  engineMax = maxDefined(engineMax, engineMemory(db));
  await db.close();
  const [peakRssBytes, peakRssSource] = peakRss();
  const budget = (db.stats() as unknown as { memory?: { budgetBytes?: unknown } }).memory?.budgetBytes;
  const result: MemoryResult = {
    ...(typeof budget === "number" ? { engineBudgetBytes: budget } : {}),
    profile, keys, reads: keys, peakRssBytes, peakRssSource, rssBeforeOpenBytes, engineMemoryBytes: engineMax,
    fillSeconds: (t1 - t0) / 1000, readSeconds: (t2 - t1) / 1000,
    ...(misses === 0 ? {} : { error: `${misses} of ${keys} reads missed keys that were written` }),
  };
  process.stdout.write(`result ${JSON.stringify(result)}\n`);
}

function positive(s: string | undefined, what: string): number { // A
  const n = Number(s);
  if (!Number.isSafeInteger(n) || n <= 0) throw new Error(`child: ${what} must be a positive integer, got ${s}`);
  return n;
}

async function main(argv: readonly string[]): Promise<void> { // A
  const [mode, dir, a, b, c] = argv;
  if (mode === "crash-writer" && dir !== undefined) return crashWriter(dir, positive(a, "WAL_BYTES"), positive(b, "SEED"));
  if (mode === "memory" && dir !== undefined && (a === "mobile" || a === "background")) return memory(dir, a, positive(b, "KEYS"), positive(c, "SEED"));
  throw new Error(`child: usage: crash-writer DIR WAL_BYTES SEED | memory DIR mobile|background KEYS SEED (got ${argv.join(" ")})`);
}

await main(process.argv.slice(2));
