import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { runCompaction } from "../../../src/engine/compaction/run.ts";
import type { CompactionInput, CompactionTask } from "../../../src/engine/compaction/task.ts";
import type { FileMeta } from "../../../src/engine/manifest/version-edit.ts";
import { ClosedError, CorruptionError } from "../../../src/errors.ts";
import { meta, modelRead, TableEnv, tableOrder, userView, type Entry } from "./helpers.ts";

const KEYS = ["", "a", "ab", "b", "c", "d", "e\u0000", "f", "g", "\u00ff"];

interface Scenario {
  ops: { key: string; del: boolean; len: number }[];
  cuts: number[];
  withLevel: boolean;
  levelSplits: number;
  toLevel0: boolean;
  bottommost: boolean;
  snapshotPicks: number[];
  target: number;
  grandparents: boolean;
  yieldEvery: number;
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.record({
  ops: fc.array(fc.record({ key: fc.constantFrom(...KEYS), del: fc.boolean(), len: fc.integer({ min: 0, max: 80 }) }), { minLength: 1, maxLength: 120 }),
  cuts: fc.uniqueArray(fc.integer({ min: 1, max: 119 }), { maxLength: 4 }),
  withLevel: fc.boolean(),
  levelSplits: fc.integer({ min: 1, max: 3 }),
  toLevel0: fc.boolean(),
  bottommost: fc.boolean(),
  snapshotPicks: fc.uniqueArray(fc.integer({ min: 0, max: 125 }), { maxLength: 5 }),
  target: fc.constantFrom(150, 400, 1500, 100_000),
  grandparents: fc.boolean(),
  yieldEvery: fc.constantFrom(1, 5, 1000),
});

function entriesOf(s: Scenario): Entry[] {
  return s.ops.map((op, i) => ({
    key: op.key,
    seq: i + 1,
    kind: op.del ? 0 : 1,
    value: op.del ? undefined : Uint8Array.from({ length: op.len }, (_, j) => (i * 31 + j) & 255),
  }));
}

/** Splits the entries (seq order) at the cuts into contiguous chunks, oldest first. */
function chunks(entries: Entry[], cuts: number[]): Entry[][] {
  const at = [0, ...cuts.filter((c) => c < entries.length).sort((a, b) => a - b), entries.length];
  const out: Entry[][] = [];
  for (let i = 1; i < at.length; i++) if (at[i]! > at[i - 1]!) out.push(entries.slice(at[i - 1], at[i]));
  return out;
}

/** Splits entries by key into up to n groups with disjoint key ranges. */
function splitByKey(entries: Entry[], n: number): Entry[][] {
  const keys = [...new Set(entries.map((e) => e.key))].sort();
  const per = Math.ceil(keys.length / n);
  const groups: Entry[][] = [];
  for (let i = 0; i < keys.length; i += per) {
    const ks = new Set(keys.slice(i, i + per));
    groups.push(entries.filter((e) => ks.has(e.key)));
  }
  return groups;
}

async function buildTask(env: TableEnv, s: Scenario, entries: Entry[]): Promise<CompactionTask> {
  const cs = chunks(entries, s.cuts);
  const inputs: CompactionInput[] = [];
  const toLevel0 = s.toLevel0 && !s.withLevel;
  let l0Chunks = cs;
  if (s.withLevel && cs.length > 0) {
    const l1: FileMeta[] = [];
    for (const g of splitByKey(cs[0]!, s.levelSplits)) l1.push(await env.writeTable(g));
    inputs.push({ level: 1, files: l1 });
    l0Chunks = cs.slice(1);
  }
  const l0: FileMeta[] = [];
  for (const c of l0Chunks) l0.push(await env.writeTable(c));
  if (l0.length > 0) inputs.unshift({ level: 0, files: l0.reverse() });
  const grandparents = s.grandparents && !toLevel0
    ? [meta(900, "", "a", 300), meta(901, "ab", "c", 300), meta(902, "d", "f", 300), meta(903, "g", "\u00ff", 300)]
    : [];
  return {
    reason: "manual",
    inputs,
    outputLevel: toLevel0 ? 0 : s.withLevel ? 1 : 1,
    grandparents,
    bottommost: s.bottommost,
    targetFileBytes: toLevel0 ? undefined : s.target,
    ...(grandparents.length > 0 ? { maxGrandparentOverlapBytes: 400 } : {}),
    trivialMove: false,
  };
}

function readOutputs(env: TableEnv, files: FileMeta[], key: string, at: number) {
  const f = files.find((x) => key >= x.smallestKey && key <= x.largestKey);
  return f === undefined ? undefined : env.get(f.fileNumber, key, at);
}

describe("runCompaction", () => {
  it("keeps every version some snapshot sees and drops what nobody can see (property)", async () => {
    await fc.assert(
      fc.asyncProperty(scenarioArb, async (s) => {
        const env = new TableEnv(128);
        const entries = entriesOf(s);
        const task = await buildTask(env, s, entries);
        const snapshots = [...s.snapshotPicks].sort((a, b) => a - b);
        const res = await runCompaction(task, env.ctx(snapshots, s.yieldEvery));
        res.outputs.releasePending();
        expect(env.pending.size).toBe(0);
        expect(env.tables.stats().pinned).toBe(0);
        const out = [...(res.edit.added ?? [])].sort((a, b) => (a.smallestKey < b.smallestKey ? -1 : 1));
        // The edit swaps every input for the outputs.
        expect((res.edit.deleted ?? []).length).toBe(task.inputs.reduce((n, i) => n + i.files.length, 0));
        expect(out.every((f) => f.level === task.outputLevel)).toBe(true);
        expect(res.stats.entriesIn).toBe(entries.length);
        expect(res.stats.entriesOut + res.stats.dropped).toBe(entries.length);
        // Outputs: valid tables in order, disjoint, cut at the target.
        let written = 0;
        for (let i = 0; i < out.length; i++) {
          const es = env.entriesOf(out[i]!.fileNumber);
          written += es.length;
          expect(es).toEqual([...es].sort(tableOrder));
          if (i > 0) expect(out[i - 1]!.largestKey < out[i]!.smallestKey).toBe(true);
          if (i < out.length - 1 && task.grandparents.length === 0) expect(out[i]!.sizeBytes).toBeGreaterThanOrEqual(s.target);
          if (task.bottommost && snapshots.length === 0) expect(es.some((e) => e.kind === 0)).toBe(false);
          if (snapshots.length === 0) expect(new Set(es.map((e) => e.key)).size).toBe(es.length);
          // Minimal: every version kept is the one some reader sees.
          for (const e of es) {
            const seen = [...snapshots, Number.MAX_SAFE_INTEGER].some((at) => env.get(out[i]!.fileNumber, e.key, at)?.seq === e.seq);
            expect(seen, `kept ${e.key}@${e.seq} that no reader sees`).toBe(true);
          }
        }
        expect(written).toBe(res.stats.entriesOut);
        if (task.targetFileBytes === undefined) expect(out.length).toBeLessThanOrEqual(1);
        // Every reader sees what it saw before.
        for (const key of KEYS) {
          for (const at of [...snapshots, Number.MAX_SAFE_INTEGER]) {
            const want = modelRead(entries, key, at);
            const got = readOutputs(env, out, key, at);
            if (task.bottommost) {
              expect(userView(got)).toBe(userView(want));
              // At the bottom a version every snapshot sees may be written with seq 0 (drop-rule.ts).
              const zeroable = snapshots.length === 0 || (want !== undefined && want.seq <= Math.min(...snapshots));
              if (want !== undefined && want.kind !== 0) expect(got?.seq === want.seq || (zeroable && got?.seq === 0)).toBe(true);
            } else {
              expect(got === undefined ? undefined : { seq: got.seq, kind: got.kind, v: userView(got) }).toEqual(
                want === undefined ? undefined : { seq: want.seq, kind: want.kind, v: userView(want) },
              );
            }
          }
        }
        expect(env.pauses).toBeGreaterThanOrEqual(Math.floor(entries.length / s.yieldEvery));
      }),
      { numRuns: 150 },
    );
  });

  it("moves a file without I/O on a trivial move", async () => {
    const env = new TableEnv();
    const f = await env.writeTable([{ key: "k", seq: 1, kind: 1, value: new Uint8Array([1]) }]);
    const before = env.tableFiles();
    const res = await runCompaction(
      { reason: "l0-trigger", inputs: [{ level: 0, files: [f] }], outputLevel: 1, grandparents: [], bottommost: true, targetFileBytes: 1000, trivialMove: true, compactPointer: { level: 0, key: "k" } },
      env.ctx([]),
    );
    expect(res.edit.deleted).toEqual([{ level: 0, fileNumber: f.fileNumber }]);
    expect(res.edit.added).toEqual([{ ...f, level: 1 }]);
    expect(res.edit.compactPointers).toEqual([{ level: 0, key: "k" }]);
    expect(env.tableFiles()).toEqual(before);
    expect(env.tables.stats().opens).toBe(0);
  });

  it("reports a duplicated (key, seq) across inputs as corruption and removes its outputs", async () => {
    const env = new TableEnv();
    const a = await env.writeTable([{ key: "a", seq: 5, kind: 1, value: new Uint8Array([1]) }, { key: "b", seq: 6, kind: 1, value: new Uint8Array([2]) }]);
    const b = await env.writeTable([{ key: "b", seq: 6, kind: 1, value: new Uint8Array([3]) }]);
    const before = env.tableFiles();
    const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files: [b, a] }], outputLevel: 1, grandparents: [], bottommost: true, targetFileBytes: 10, trivialMove: false };
    await expect(runCompaction(task, env.ctx([]))).rejects.toBeInstanceOf(CorruptionError);
    expect(env.tableFiles()).toEqual(before);
    expect(env.pending.size).toBe(0);
    expect(env.tables.stats().pinned).toBe(0);
  });

  it("reports a table whose entries fall outside its manifest range as corruption", async () => {
    const env = new TableEnv();
    const a = await env.writeTable([{ key: "m", seq: 5, kind: 1, value: new Uint8Array([1]) }]);
    const lying = { ...a, largestKey: "l" , smallestKey: "a" };
    const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files: [lying] }], outputLevel: 1, grandparents: [], bottommost: false, targetFileBytes: 10, trivialMove: false };
    await expect(runCompaction(task, env.ctx([]))).rejects.toBeInstanceOf(CorruptionError);
    expect(env.tables.stats().pinned).toBe(0);
  });

  it("abandons its outputs and throws ClosedError when cancelled at a pause", async () => {
    const env = new TableEnv();
    const es: Entry[] = Array.from({ length: 50 }, (_, i) => ({ key: `k${String(i).padStart(3, "0")}`, seq: i + 1, kind: 1, value: new Uint8Array(30) }));
    const f = await env.writeTable(es);
    const before = env.tableFiles();
    const ctx = env.ctx([], 10);
    let pauses = 0;
    ctx.pause = () => {
      if (++pauses === 3) env.cancelled = true;
      return Promise.resolve();
    };
    const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files: [f] }], outputLevel: 1, grandparents: [], bottommost: false, targetFileBytes: 100, trivialMove: false };
    await expect(runCompaction(task, ctx)).rejects.toBeInstanceOf(ClosedError);
    expect(pauses).toBe(3);
    expect(env.tableFiles()).toEqual(before);
    expect(env.pending.size).toBe(0);
    expect(env.tables.stats().pinned).toBe(0);
  });

  it("keeps the version an old snapshot sees below a tombstone, and drops the rest", async () => {
    const env = new TableEnv();
    const v = (b: number): Uint8Array => new Uint8Array([b]);
    const f = await env.writeTable([
      { key: "k", seq: 1, kind: 1, value: v(1) },
      { key: "k", seq: 2, kind: 1, value: v(2) },
      { key: "k", seq: 4, kind: 1, value: v(4) },
      { key: "k", seq: 6, kind: 0, value: undefined },
      { key: "k", seq: 8, kind: 1, value: v(8) },
    ]);
    const task: CompactionTask = { reason: "manual", inputs: [{ level: 0, files: [f] }], outputLevel: 1, grandparents: [], bottommost: true, targetFileBytes: 1000, trivialMove: false };
    const res = await runCompaction(task, env.ctx([3, 7]));
    const out = env.entriesOf(res.edit.added![0]!.fileNumber).map((e) => [e.seq, e.kind]);
    // 8: latest; 6 (tombstone): snapshot 7 needs it, and snapshot 3 is older; 4: nobody; 2: snapshot 3; 1: nobody.
    // 2 is at the bottom and seen by every snapshot (2 <= 3): written with seq 0.
    expect(out).toEqual([[8, 1], [6, 0], [0, 1]]);
  });
});
