/**
 * Value-log discard statistics from compaction and flush (SPEC.md,
 * "Discard statistics"): every dropped version holding a value pointer adds
 * its record length to its value-log file's delta in the edit, kept ones
 * (also those rewritten with seq 0) add nothing, a pointer that does not
 * decode fails the compaction, and in a database the totals equal exactly
 * the record bytes of the pointer versions no reader can see any more,
 * across close and reopen, with a snapshot holding versions back.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { runCompaction } from "../../../src/engine/compaction/run.ts";
import type { CompactionTask } from "../../../src/engine/compaction/task.ts";
import type { FileMeta } from "../../../src/engine/manifest/version-edit.ts";
import type { Tree } from "../../../src/engine/tree/tree.ts";
import { encodeValuePointer } from "../../../src/engine/vlog/pointer.ts";
import { CorruptionError } from "../../../src/errors.ts";
import { MemFileSystem, SeededRandom, openDB, silentLog, type DB, type DBOptions } from "../../../src/index.ts";
import { modelRead, TableEnv, type Entry } from "./helpers.ts";

const KEYS = ["a", "b", "c", "d"];

function pointerOf(i: number, len: number): Uint8Array {
  return encodeValuePointer({ fileNumber: 1 + (i % 3), offset: 28 + i * 1000, length: 22 + len, checksum: i });
}

function hex(b: Uint8Array | undefined): string {
  return b === undefined ? "-" : Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

describe("compaction discard deltas", () => {
  it("the edit's vlogDiscard is exactly the record lengths of the pointer versions not written out (property)", async () => {
    const opArb = fc.record({ key: fc.constantFrom(...KEYS), kind: fc.constantFrom(0, 1, 2, 2), len: fc.integer({ min: 1, max: 5000 }) });
    await fc.assert(fc.asyncProperty(
      fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.integer({ min: 1, max: 3 }), fc.boolean(),
      fc.uniqueArray(fc.integer({ min: 0, max: 65 }), { maxLength: 3 }),
      async (ops, tables, bottommost, snaps) => {
        const env = new TableEnv(128);
        const entries: Entry[] = ops.map((op, i) => ({
          key: op.key, seq: i + 1, kind: op.kind,
          value: op.kind === 0 ? undefined : op.kind === 2 ? pointerOf(i, op.len) : new Uint8Array([i & 255]),
        }));
        // Contiguous sequence chunks, one level-0 table each (newest first in the task).
        const per = Math.ceil(entries.length / tables);
        const files: FileMeta[] = [];
        for (let i = 0; i < entries.length; i += per) files.unshift(await env.writeTable(entries.slice(i, i + per)));
        const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files }], outputLevel: 1, grandparents: [], bottommost, targetFileBytes: 300, trivialMove: false };
        const snapshots = [...snaps].sort((a, b) => a - b);
        const res = await runCompaction(task, env.ctx(snapshots));
        res.outputs.releasePending();
        const written = new Set<string>();
        for (const f of res.edit.added ?? []) for (const e of env.entriesOf(f.fileNumber)) if (e.kind === 2) written.add(hex(e.value));
        const expected = new Map<number, number>();
        let droppedPointers = 0;
        for (const [i, e] of entries.entries()) {
          if (e.kind !== 2 || written.has(hex(e.value))) continue;
          droppedPointers++;
          expected.set(1 + (i % 3), (expected.get(1 + (i % 3)) ?? 0) + 22 + ops[i]!.len);
          // Only versions no reader sees are dropped.
          for (const at of [...snapshots, Number.MAX_SAFE_INTEGER]) expect(modelRead(entries, e.key, at)?.seq).not.toBe(e.seq);
        }
        const want = [...expected].sort((a, b) => a[0] - b[0]).map(([fileNumber, bytes]) => ({ fileNumber, bytes }));
        expect(res.edit.vlogDiscard ?? []).toEqual(want);
        expect(res.stats.vlogDiscardBytes).toBe(want.reduce((s, d) => s + d.bytes, 0));
        // Every pointer version still seen by some reader was written (kept, perhaps with seq 0).
        const kept = entries.filter((e) => e.kind === 2 && written.has(hex(e.value))).length;
        expect(kept + droppedPointers).toBe(entries.filter((e) => e.kind === 2).length);
      },
    ), { numRuns: 150 });
  });

  it("a dropped version whose pointer does not decode fails the compaction with CorruptionError and leaves nothing behind", async () => {
    const env = new TableEnv();
    const f = await env.writeTable([
      { key: "k", seq: 1, kind: 2, value: new Uint8Array([1, 2, 3]) },
      { key: "k", seq: 2, kind: 1, value: new Uint8Array([9]) },
    ]);
    const before = env.tableFiles();
    const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files: [f] }], outputLevel: 1, grandparents: [], bottommost: false, targetFileBytes: 1000, trivialMove: false };
    const err = await runCompaction(task, env.ctx([])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect(String(err)).toMatch(/dropped version \(seq 1\) in .*level 0 holds a bad value pointer/);
    expect(env.tableFiles()).toEqual(before);
    expect(env.pending.size).toBe(0);
    expect(env.tables.stats().pinned).toBe(0);
    // A kept pointer is copied, not decoded: the same bytes as the newest version compact fine.
    const g = await env.writeTable([{ key: "k", seq: 3, kind: 2, value: new Uint8Array([1, 2, 3]) }]);
    const ok = await runCompaction({ ...task, inputs: [{ level: 0, files: [g] }] }, env.ctx([]));
    ok.outputs.releasePending();
    expect(ok.edit.vlogDiscard).toBeUndefined();
  });

  it("a trivial move carries no discard", async () => {
    const env = new TableEnv();
    const f = await env.writeTable([{ key: "k", seq: 1, kind: 2, value: pointerOf(1, 100) }]);
    const res = await runCompaction({ reason: "l0-trigger", inputs: [{ level: 0, files: [f] }], outputLevel: 1, grandparents: [], bottommost: true, targetFileBytes: 1000, trivialMove: true }, env.ctx([]));
    expect(res.edit.vlogDiscard).toBeUndefined();
  });
});

const THRESHOLD = 64;

function opts(fs: MemFileSystem): DBOptions {
  // GC off: it would relocate records and forget files under the test.
  return { fs, log: silentLog(), random: new SeededRandom(11), valueThreshold: THRESHOLD, memtableBytes: 1 << 20, valueLogGc: "manual" };
}

function treeOf(db: DB): Tree {
  return (db as unknown as { tree: Tree }).tree;
}

/** Versions written, per key, in sequence order; a snapshot is a count of writes. */
interface Written { key: string; seq: number; record: number; del: boolean; session: number }

/** Record bytes of the pointer versions that no reader (latest, or one at a snapshot) sees. */
function invisibleRecordBytes(ws: readonly Written[], snapshots: readonly number[], session?: number): number {
  let sum = 0;
  for (const w of ws) {
    if (w.record === 0 || (session !== undefined && w.session !== session)) continue;
    const seen = [...snapshots, Number.MAX_SAFE_INTEGER].some((s) => { // the newest version of w.key at or below s
      let best: Written | undefined;
      for (const x of ws) if (x.key === w.key && x.seq <= s && (best === undefined || x.seq > best.seq)) best = x;
      return best === w;
    });
    if (!seen) sum += w.record;
  }
  return sum;
}

function total(m: ReadonlyMap<number, number>): number {
  let s = 0;
  for (const v of m.values()) s += v;
  return s;
}

describe("discard statistics in a database", () => {
  it("equal the record bytes of the dropped pointer versions after flush and compaction, survive reopen, and a snapshot's versions stay out", async () => {
    const fs = new MemFileSystem();
    let db = await openDB("/db", opts(fs));
    const ws: Written[] = [];
    let seq = 0;
    let session = 1;
    const rng = new SeededRandom(5);
    const put = async (i: number, n: number): Promise<void> => {
      const key = `key${String(i).padStart(3, "0")}`;
      await db.put(key, new Uint8Array(n).fill(i & 255));
      // Record = 22-byte header + key + value, for values at or above the threshold.
      ws.push({ key, seq: ++seq, record: n >= THRESHOLD ? 22 + key.length + n : 0, del: false, session });
    };
    const del = async (i: number): Promise<void> => {
      const key = `key${String(i).padStart(3, "0")}`;
      await db.delete(key);
      ws.push({ key, seq: ++seq, record: 0, del: true, session });
    };
    // Phase 1: large and small values, overwrites and deletes in one memtable; the flush drops the overwritten ones.
    for (let r = 0; r < 3; r++) for (let i = 0; i < 40; i++) await put(i, rng.int(4) === 0 ? 10 : 64 + rng.int(300));
    for (let i = 0; i < 40; i += 7) await del(i);
    await db.flush();
    const vs = (): ReadonlyMap<number, number> => treeOf(db).vs.vlogDiscard();
    expect(total(vs())).toBe(invisibleRecordBytes(ws, []));
    expect(total(vs())).toBeGreaterThan(10_000);
    const vlogs = fs.list("/db").filter((n) => n.endsWith(".vlog")).map((n) => Number(n.slice(0, -5)));
    expect(vlogs).toHaveLength(1);
    expect([...vs().keys()]).toEqual(vlogs);
    // Phase 2: a snapshot in the middle of more overwrites, held through flush and compaction.
    for (let i = 0; i < 40; i += 2) await put(i, 64 + rng.int(300));
    const snap = db.snapshot();
    const snapAt = seq;
    for (let i = 0; i < 40; i += 2) await put(i, 64 + rng.int(300));
    for (let i = 1; i < 40; i += 5) await del(i);
    await db.flush();
    await db.compact();
    expect(total(vs())).toBe(invisibleRecordBytes(ws, [snapAt]));
    expect(total(vs())).toBeLessThan(invisibleRecordBytes(ws, []));
    // Phase 3: release it; new writes spanning every key make the next manual compaction merge all tables.
    snap.release();
    await put(0, 5);
    await put(39, 5);
    await db.flush();
    await db.compact();
    const afterAll = invisibleRecordBytes(ws, []);
    expect(total(vs())).toBe(afterAll);
    const before = [...vs()];
    await db.close();
    // Reopen: the totals come back from the manifest; the new session writes to a new value-log file.
    db = await openDB("/db", opts(fs));
    session = 2;
    expect([...vs()]).toEqual(before);
    for (let i = 0; i < 40; i += 3) await put(i, 64 + rng.int(300));
    for (let i = 0; i < 40; i += 3) await put(i, 64 + rng.int(300));
    await put(0, 5);
    await put(39, 5);
    await db.flush();
    await db.compact();
    const files = fs.list("/db").filter((n) => n.endsWith(".vlog")).map((n) => Number(n.slice(0, -5))).sort((a, b) => a - b);
    expect(files).toHaveLength(2);
    // Per file: session 1's records went to the first file, session 2's to the second.
    expect(vs().get(files[0]!)).toBe(invisibleRecordBytes(ws, [], 1));
    expect(vs().get(files[1]!)).toBe(invisibleRecordBytes(ws, [], 2));
    expect(vs().get(files[1]!)).toBeGreaterThan(0);
    await db.close();
  });
});
