/**
 * Micro benchmark of the memtable against the designs it beat (see
 * memtable-alternatives.ts): inserts of random and of sequential 16-byte
 * keys, point reads that hit and that miss, a full scan, and a 1:1 mix of
 * new-key inserts and reads. Keys are made before any timing starts, the
 * way the WAL decoder makes them unless --flat-keys (see keyStrings); every
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
import { type BenchTable, SkipListTable, TreeOnlyTable } from "./memtable-alternatives.ts";

const KEY_BYTES = 16;
const VALUE = new Uint8Array(100);
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
  ["btree+map (shipped)", () => new ShippedTable()],
  ["btree only", () => new TreeOnlyTable()],
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

function fill(t: BenchTable, keys: readonly string[]): void { // A
  for (let i = 0; i < keys.length; i++) t.add(keys[i]!, i + 1, KIND_PUT, VALUE);
}

/** Reads READS keys from `probe` in a scattered order; checks that hits hit. */
function reads(t: BenchTable, probe: readonly string[], expectHit: boolean): number { // A
  const n = probe.length;
  const snap = Number.MAX_SAFE_INTEGER;
  let hits = 0;
  const r = rate(READS, () => {
    for (let i = 0; i < READS; i++) if (t.get(probe[(i * 7919) % n]!, snap) !== undefined) hits++;
  });
  if (hits !== (expectHit ? READS : 0)) throw new Error(`bench: expected ${expectHit ? READS : 0} hits, got ${hits}`);
  return r;
}

/** 1:1 inserts of new keys and reads (half of them misses) on a table already holding `base`. */
function mixed(t: BenchTable, base: readonly string[], fresh: readonly string[], absent: readonly string[]): number { // A
  const seq0 = base.length;
  const n = fresh.length;
  return rate(2 * n, () => {
    for (let i = 0; i < n; i++) {
      t.add(fresh[i]!, seq0 + i + 1, KIND_PUT, VALUE);
      t.get((i & 1) === 0 ? base[(i * 7919) % seq0]! : absent[i % absent.length]!, Number.MAX_SAFE_INTEGER);
    }
  });
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

/** One size: every candidate fills, reads, misses and scans; then the mixed load at that size. */
function runSize(n: number, rnd: SeededRandom): void { // A
  const keyBytes = randomKeyBytes(n, rnd);
  const absentBytes = randomKeyBytes(READS, rnd);
  const freshBytes = randomKeyBytes(Math.min(n, 131_072), rnd);
  for (const [name, make] of CANDIDATES) {
    const keys = keyStrings(keyBytes);
    const absent = keyStrings(absentBytes);
    const t = make();
    const ins = rate(n, () => fill(t, keys));
    const hit = reads(t, keys, true);
    const miss = reads(t, absent, false);
    let scanned = 0;
    const scan = rate(n, () => { scanned = t.scan(Number.MAX_SAFE_INTEGER); });
    if (scanned !== n) throw new Error(`bench: ${name} scanned ${scanned} of ${n} keys`);
    const mix = mixed(t, keys, keyStrings(freshBytes), keyStrings(absentBytes));
    row([`random ${n}`, name, fmt(ins), fmt(hit), fmt(miss), fmt(scan), fmt(mix)]);
  }
}

function runSequential(n: number): void { // A
  const keyBytes = sequentialKeyBytes(n);
  for (const [name, make] of CANDIDATES) {
    const keys = keyStrings(keyBytes);
    const t = make();
    const ins = rate(n, () => fill(t, keys));
    const hit = reads(t, keys, true);
    row([`sequential ${n}`, name, fmt(ins), fmt(hit), "", "", ""]);
  }
}

/** Runs every candidate through every path once so the timed runs meet optimized code. */
function warmUp(): void { // A
  const keys = keyStrings(randomKeyBytes(32_768, new SeededRandom(7)));
  for (const [, make] of CANDIDATES) {
    const t = make();
    fill(t, keys);
    reads(t, keys, true);
    t.scan(Number.MAX_SAFE_INTEGER);
  }
}

function row(cells: string[]): void { // A
  process.stdout.write(`| ${cells.join(" | ")} |\n`);
}

function main(): void { // A
  const quick = process.argv.includes("--quick");
  const sizes = quick ? [32_768] : [32_768, 262_144, 1_048_576];
  const rnd = new SeededRandom(42);
  warmUp();
  process.stdout.write(`memtable micro benchmark, ${runtimeName()}, ${KEY_BYTES}-byte ${FLAT_KEYS ? "flat" : "engine (latin1Slice)"} keys, ops/s\n`);
  row(["keys", "structure", "insert", "get hit", "get miss", "scan", "mix 1:1"]);
  row(["---", "---", "---", "---", "---", "---", "---"]);
  for (const n of sizes) runSize(n, rnd);
  runSequential(quick ? 32_768 : 1_048_576);
}

main();
