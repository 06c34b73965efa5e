/**
 * Fuzz target: WAL recovery over random and mutated log bytes. Whatever the
 * bytes, opening the database must either succeed with a state made of whole
 * batches that were really written (in order, a prefix in the default mode)
 * or fail with a CorruptionError; never another exception, never a hang,
 * never a value that no batch wrote.
 */
import { CorruptionError, MemFileSystem, openDB, SeededRandom, silentLog } from "../src/index.ts";
import { concatBytes } from "../src/encoding/bytes.ts";
import { WriteBatch } from "../src/engine/write-batch.ts";
import { sealWalRecord, WAL_RECORD_HEADER_BYTES, walFileName } from "../src/engine/wal/format.ts";
import { WalWriter } from "../src/engine/wal/writer.ts";

export interface FuzzStats {
  cases: number;
  opened: number;
  corrupt: number;
}

const LOG = `/db/${walFileName(1)}`;

/** A valid log of `batches` batches; batch b puts keys `b:i` -> `v:b:i`. Returns the file bytes. */
function validLog(rng: SeededRandom, batches: number): Uint8Array { // A
  const fs = new MemFileSystem();
  fs.mkdir("/db", { recursive: true });
  const w = WalWriter.create(fs, "/db", 1, rng.nextU32());
  let seq = 1;
  for (let b = 0; b < batches; b++) {
    const batch = new WriteBatch();
    const n = 1 + rng.int(5);
    for (let i = 0; i < n; i++) batch.put(`${b}:${i}`, `v:${b}:${i}`);
    const rec = batch.toRecord();
    sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, seq, w.checksumSeed);
    seq += n;
    w.append(rec);
  }
  w.close();
  return fs.readFile(LOG);
}

/** Damages `bytes` in one of several ways chosen by `rng`. */
function mutate(rng: SeededRandom, bytes: Uint8Array): Uint8Array { // A
  const out = bytes.slice();
  switch (rng.int(5)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + rng.int(4); i < n && out.length > 0; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1: // truncation
      return out.subarray(0, rng.int(out.length + 1));
    case 2: // random garbage appended
      return concatBytes([out, rng.bytes(new Uint8Array(rng.int(200)))]);
    case 3: // a run of random bytes overwritten
      for (let i = rng.int(out.length), n = rng.int(64); n > 0 && i < out.length; i++, n--) out[i] = rng.int(256);
      return out;
    default: // pure garbage
      return rng.bytes(new Uint8Array(rng.int(400)));
  }
}

/** Checks every key is one some batch wrote, with its value, and batches are whole. */
async function checkState(fs: MemFileSystem, repair: boolean): Promise<void> { // A
  const db = await openDB("/db", { fs, repair, log: silentLog() });
  try {
    const seen = new Map<number, number>();
    for await (const [k, v] of db.iterate()) {
      const key = new TextDecoder().decode(k);
      const m = /^(\d+):(\d+)$/.exec(key);
      if (m === null || new TextDecoder().decode(v) !== `v:${key}`) throw new Error(`fuzz: invented entry ${key}`);
      seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
    if (!repair) {
      const batches = [...seen.keys()].sort((a, b) => a - b);
      batches.forEach((b, i) => { if (b !== i) throw new Error(`fuzz: batch ${i} missing before batch ${b}`); });
    }
  } finally {
    await db.close();
  }
}

/** Runs one case: returns "opened" or "corrupt"; throws on any other outcome. */
export async function fuzzWalCase(seed: number): Promise<"opened" | "corrupt"> { // A
  const rng = new SeededRandom(seed);
  const bytes = mutate(rng, validLog(rng, 1 + rng.int(8)));
  const repair = rng.int(4) === 0;
  const fs = new MemFileSystem();
  fs.mkdir("/db", { recursive: true });
  const h = fs.open(LOG, { create: true });
  h.write(bytes, 0);
  h.close();
  try {
    await checkState(fs, repair);
    return "opened";
  } catch (e) {
    if (e instanceof CorruptionError) return "corrupt";
    throw new Error(`fuzz seed ${seed} (repair ${repair}): ${e instanceof Error ? e.stack : String(e)}`);
  }
}

/** Runs cases from `seed0` until `cases` are done or `budgetMs` has passed (`nowMs` supplies time). */
export async function fuzzWal(seed0: number, cases: number, budgetMs: number, nowMs: () => number): Promise<FuzzStats> { // A
  const start = nowMs();
  const stats: FuzzStats = { cases: 0, opened: 0, corrupt: 0 };
  for (let i = 0; i < cases && nowMs() - start < budgetMs; i++) {
    const r = await fuzzWalCase(seed0 + i);
    stats.cases++;
    stats[r]++;
  }
  return stats;
}
