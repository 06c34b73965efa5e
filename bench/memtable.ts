/**
 * Micro benchmark of the memtable against the designs it was chosen over
 * (memtable-alternatives.ts): inserts of random and of sequential 16-byte
 * keys, overwrites, point reads that hit and that miss, a full scan, and a
 * 1:1 mix of new-key inserts and reads. Keys are made before any timing
 * starts, the way the WAL decoder makes them unless --flat-keys (see
 * keyStrings), and every read uses a fresh string as DB.get does; every
 * value is the same 100-byte array, so only the memtable is measured.
 *
 *   npx bun bench/memtable.ts [--quick] [--flat-keys]
 *   npx tsc -p . && node dist/bench/memtable.js [--quick] [--flat-keys]
 *
 * Figures on a shared VM vary up to 2x between runs; compare within a run.
 */
import process from "node:process";
import { latin1Slice } from "../src/encoding/bytes.ts";
import { KIND_PUT, type MemEntry, MemTable } from "../src/engine/memtable/memtable.ts";
import { SystemClock } from "../src/platform/clock.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { type BenchTable, SkipListTable, TreeMapTable } from "./memtable-alternatives.ts";

const KEY_BYTES = 16;
const VALUE = new Uint8Array(100);
/** Reads per get measurement, and new keys per mixed run. */
const READS = 262_144;
const clock = new SystemClock();
const FLAT_KEYS = process.argv.includes("--flat-keys");

/** The shipped memtable, with a scan through its public iterator. */
class ShippedTable implements BenchTable {
  private readonly mem = new MemTable();
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // A
    this.mem.add(key, seq, kind, value);
  }
  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    return this.mem.get(key, snapshotSeq);
  }
  scan(snapshotSeq: number): number { // A
    const it = this.mem.iterator();
    let n = 0;
    for (it.seekFirst(); it.valid(); it.next()) if (it.visible(snapshotSeq) !== undefined) n++;
    return n;
  }
}

const CANDIDATES: ReadonlyArray<[string, () => BenchTable]> = [
  ["btree (shipped)", () => new ShippedTable()],
  ["btree+map", () => new TreeMapTable()],
  ["skiplist", () => new SkipListTable()],
];

/** Key bytes, one key per KEY_BYTES; turned into strings afresh for every candidate (see keyStrings). */
function randomKeyBytes(n: number, rnd: SeededRandom): Uint8Array { // A
  return rnd.bytes(new Uint8Array(n * KEY_BYTES));
}

/** Big-endian counters in the low 8 bytes: ascending order equals insertion order. */
function sequentialKeyBytes(n: number): Uint8Array { // A
  const out = new Uint8Array(n * KEY_BYTES);
  for (let i = 0; i < n; i++) {
    let v = i;
    for (let j = KEY_BYTES - 1; j >= KEY_BYTES - 8; j--) {
      out[i * KEY_BYTES + j] = v % 256;
      v = Math.floor(v / 256);
    }
  }
  return out;
}

/**
 * Fresh key strings, made per candidate because V8 caches a string's hash
 * and flattens it on first use inside the structure; a candidate handed
 * strings another one already used would skip work the engine never can.
 * "engine" keys come from latin1Slice like the WAL decoder's (built by
 * concatenation, so 13+ chars are V8 cons strings, whose every compare
 * takes a slow path until a GC shortcuts them); "flat" keys come from one
 * String.fromCharCode call, which makes a flat string.
 */
function keyStrings(bytes: Uint8Array): string[] { // A
  const n = bytes.length / KEY_BYTES;
  const out = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    const at = i * KEY_BYTES;
    out[i] = FLAT_KEYS
      ? String.fromCharCode.apply(null, bytes.subarray(at, at + KEY_BYTES) as unknown as number[])
      : latin1Slice(bytes, at, at + KEY_BYTES);
  }
  return out;
}

/** Operations per second of `body`, which performs `ops` operations. */
function rate(ops: number, body: () => void): number { // A
  const t0 = clock.monotonicMs();
  body();
  return ops / ((clock.monotonicMs() - t0) / 1000);
}

/** Keys picked from `keyBytes` in a scattered order, as their own bytes (so their strings will be fresh). */
function pickBytes(keyBytes: Uint8Array, count: number): Uint8Array { // A
  const n = keyBytes.length / KEY_BYTES;
  const out = new Uint8Array(count * KEY_BYTES);
  for (let i = 0; i < count; i++) {
    const from = ((i * 7919) % n) * KEY_BYTES;
    out.set(keyBytes.subarray(from, from + KEY_BYTES), i * KEY_BYTES);
  }
  return out;
}

/** Adds every key as a put; seqs continue from `seq0`. */
function fill(t: BenchTable, keys: readonly string[], seq0: number): void { // A
  for (let i = 0; i < keys.length; i++) t.add(keys[i]!, seq0 + i + 1, KIND_PUT, VALUE);
}

/** Reads every probe once; throws unless all hit (or all miss). */
function reads(t: BenchTable, probes: readonly string[], expectHit: boolean): number { // A
  let hits = 0;
  const r = rate(probes.length, () => {
    for (let i = 0; i < probes.length; i++) if (t.get(probes[i]!, Number.MAX_SAFE_INTEGER) !== undefined) hits++;
  });
  if (hits !== (expectHit ? probes.length : 0)) throw new Error(`bench: ${hits} of ${probes.length} reads hit`);
  return r;
}

/** Alternates an insert of a new key with a read (even i: a present key, odd i: an absent one). */
function mixed(t: BenchTable, fresh: readonly string[], present: readonly string[], absent: readonly string[], seq0: number): number { // A
  const n = Math.min(fresh.length, present.length, absent.length);
  return rate(2 * n, () => {
    for (let i = 0; i < n; i++) {
      t.add(fresh[i]!, seq0 + i + 1, KIND_PUT, VALUE);
      t.get((i & 1) === 0 ? present[i]! : absent[i]!, Number.MAX_SAFE_INTEGER);
    }
  });
}

const COLUMNS = ["insert", "overwrite", "get hit", "get miss", "scan", "mix 1:1"] as const;
type Figures = Partial<Record<(typeof COLUMNS)[number], number>>;

/** Key material of one case; strings are made from it afresh for every measurement. */
interface CaseBytes {
  keys: Uint8Array;
  present: Uint8Array;
  absent: Uint8Array;
  fresh: Uint8Array;
  full: boolean;
}

/** Every path of one candidate on one case. Sequential cases measure only insert and get. */
function measure(make: () => BenchTable, c: CaseBytes): Figures { // A
  const keys = keyStrings(c.keys);
  const n = keys.length;
  const t = make();
  const f: Figures = {};
  f.insert = rate(n, () => fill(t, keys, 0));
  f["get hit"] = reads(t, keyStrings(c.present), true);
  if (!c.full) return f;
  const again = keyStrings(c.present).slice(0, Math.min(n, 131_072));
  f.overwrite = rate(again.length, () => fill(t, again, n));
  f["get miss"] = reads(t, keyStrings(c.absent), false);
  let scanned = 0;
  f.scan = rate(n, () => { scanned = t.scan(Number.MAX_SAFE_INTEGER); });
  if (scanned !== n) throw new Error(`bench: scanned ${scanned} of ${n} keys`);
  f["mix 1:1"] = mixed(t, keyStrings(c.fresh), keyStrings(c.present), keyStrings(c.absent), n + again.length);
  return f;
}

/** Best of `reps` runs per figure, candidates in a rotated order each rep so none always runs first. */
function runCase(label: string, c: CaseBytes, reps: number): void { // A
  const best = CANDIDATES.map((): Figures => ({}));
  for (let rep = 0; rep < reps; rep++) {
    for (let j = 0; j < CANDIDATES.length; j++) {
      const at = (j + rep) % CANDIDATES.length;
      collectGarbage();
      const f = measure(CANDIDATES[at]![1], c);
      for (const col of COLUMNS) best[at]![col] = Math.max(best[at]![col] ?? 0, f[col] ?? 0);
    }
  }
  CANDIDATES.forEach(([name], i) => row([label, name, ...COLUMNS.map((col) => (best[i]![col] ? fmt(best[i]![col]!) : ""))]));
}

function randomCase(n: number, rnd: SeededRandom): CaseBytes { // A
  const keys = randomKeyBytes(n, rnd);
  return { keys, present: pickBytes(keys, READS), absent: randomKeyBytes(READS, rnd), fresh: randomKeyBytes(READS, rnd), full: true };
}

function sequentialCase(n: number): CaseBytes { // A
  const keys = sequentialKeyBytes(n);
  const none = new Uint8Array(0);
  return { keys, present: pickBytes(keys, READS), absent: none, fresh: none, full: false };
}

/** A full collection between candidates where the runtime offers one (node --expose-gc, Bun). */
function collectGarbage(): void { // A
  const g = globalThis as { gc?: () => void; Bun?: { gc(force: boolean): void } };
  if (typeof g.gc === "function") g.gc();
  else if (g.Bun !== undefined) g.Bun.gc(true);
}

function fmt(opsPerSec: number): string { // A
  return opsPerSec >= 1e6 ? `${(opsPerSec / 1e6).toFixed(2)}M` : `${Math.round(opsPerSec / 1e3)}k`;
}

function runtimeName(): string { // A
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  return `node ${process.versions.node}`;
}

/** Runs every candidate through every path once so the timed runs meet optimized code. */
function warmUp(): void { // A
  const c = randomCase(32_768, new SeededRandom(7));
  for (const [, make] of CANDIDATES) measure(make, c);
}

function row(cells: string[]): void { // A
  process.stdout.write(`| ${cells.join(" | ")} |\n`);
}

/** Short runs are noisier (a GC pause is a large share of 30 ms), so they get more tries. */
function repsFor(n: number): number { // A
  return n <= 32_768 ? 7 : n <= 262_144 ? 3 : 2;
}

function main(): void { // A
  const quick = process.argv.includes("--quick");
  const rnd = new SeededRandom(42);
  process.stdout.write(`memtable micro benchmark, ${runtimeName()}, ${KEY_BYTES}-byte ${FLAT_KEYS ? "flat" : "engine (latin1Slice)"} keys, ops/s, best of ${quick ? 1 : "7 at 32k, 3 at 262k, 2 at 1M"}\n`);
  row(["keys", "structure", ...COLUMNS]);
  row(COLUMNS.map(() => "---").concat("---", "---"));
  warmUp();
  for (const n of quick ? [32_768] : [32_768, 262_144, 1_048_576]) runCase(`random ${n}`, randomCase(n, rnd), quick ? 1 : repsFor(n));
  const seqN = quick ? 32_768 : 1_048_576;
  runCase(`sequential ${seqN}`, sequentialCase(seqN), quick ? 1 : 2);
}

main();
