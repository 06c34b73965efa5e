import { describe, expect, it } from "vitest";
import { pickerFor } from "../../../src/engine/compaction/picker.ts";
import { ManualCompaction, inputBytes, type CompactionTask } from "../../../src/engine/compaction/task.ts";
import { MAX_LEVELS, type FileMeta } from "../../../src/engine/manifest/version-edit.ts";
import { applyEdit, Version } from "../../../src/engine/manifest/version.ts";
import { meta, opts, versionOf } from "./helpers.ts";

const leveled = pickerFor("leveled");
const tiered = pickerFor("tiered");
const mobile = pickerFor("mobile");
const noPointer = (): undefined => undefined;
const numbers = (t: CompactionTask, level: number): number[] => (t.inputs.find((i) => i.level === level)?.files ?? []).map((f) => f.fileNumber).sort((a, b) => a - b);

/** Applies a task on metadata only: its output is one file spanning the inputs (as a merge would make it). */
let fileNumberNext = 10_000;
function applyMeta(v: Version, t: CompactionTask): Version {
  const files = t.inputs.flatMap((i) => i.files);
  const deleted = t.inputs.flatMap((i) => i.files.map((f) => ({ level: i.level, fileNumber: f.fileNumber })));
  const out: FileMeta = t.trivialMove
    ? files[0]!
    : {
        fileNumber: fileNumberNext++,
        sizeBytes: files.reduce((n, f) => n + f.sizeBytes, 0),
        smallestKey: files.map((f) => f.smallestKey).sort()[0]!,
        largestKey: files.map((f) => f.largestKey).sort().reverse()[0]!,
        minSeq: Math.min(...files.map((f) => f.minSeq)),
        maxSeq: Math.max(...files.map((f) => f.maxSeq)),
      };
  const levels = applyEdit(v.levels, { deleted, added: [{ ...out, level: t.outputLevel }] }, (m) => {
    throw new Error(m);
  });
  return new Version(levels);
}

describe("leveled picker", () => {
  const o = opts({ compaction: "leveled", l0CompactionTrigger: 4, level1Bytes: 1000, targetFileBytes: 100, maxSortedRuns: 8 });

  it("compacts the oldest level-0 file with every level-0 file connected to it, plus the level-1 files under them", () => {
    const base = [meta(1, "a", "c", 100, 10, 19), meta(2, "b", "d", 100, 20, 29), meta(3, "x", "z", 100, 30, 39)];
    const l1 = [meta(10, "a", "b", 100, 1, 2), meta(11, "m", "n", 100, 3, 4)];
    expect(leveled.pick(versionOf({ 0: base, 1: l1 }), o, noPointer)).toBeUndefined();
    const v = versionOf({ 0: [...base, meta(4, "c", "e", 100, 40, 49)], 1: l1 });
    const t = leveled.pick(v, o, noPointer)!;
    expect(t.reason).toBe("l0-trigger");
    expect(numbers(t, 0)).toEqual([1, 2, 4]);
    expect(numbers(t, 1)).toEqual([10]);
    expect(t.outputLevel).toBe(1);
    expect(t.bottommost).toBe(true);
    expect(t.trivialMove).toBe(false);
    expect(t.targetFileBytes).toBe(100);
    expect(t.maxGrandparentOverlapBytes).toBe(1000);
  });

  it("picks the level over budget round robin after its compaction pointer", () => {
    const l1 = [meta(10, "a", "b", 600), meta(11, "c", "d", 600), meta(12, "e", "f", 600)];
    const l2 = [meta(20, "c1", "c9", 100)];
    const v = versionOf({ 1: l1, 2: l2 });
    const first = leveled.pick(v, o, noPointer)!;
    expect(first.reason).toBe("level-size");
    expect(numbers(first, 1)).toEqual([10]);
    expect(first.trivialMove).toBe(true);
    expect(first.compactPointer).toEqual({ level: 1, key: "b" });
    const second = leveled.pick(v, o, (l) => (l === 1 ? "b" : undefined))!;
    expect(numbers(second, 1)).toEqual([11]);
    expect(numbers(second, 2)).toEqual([20]);
    expect(second.trivialMove).toBe(false);
    expect(second.outputLevel).toBe(2);
    const wrapped = leveled.pick(v, o, (l) => (l === 1 ? "f" : undefined))!;
    expect(numbers(wrapped, 1)).toEqual([10]);
  });

  it("scores deeper levels against level1Bytes x ratio^(L-1) and picks the most urgent", () => {
    const v = versionOf({ 1: [meta(10, "a", "b", 900)], 2: [meta(20, "a", "b", 15_000)] });
    const t = leveled.pick(v, o, noPointer)!;
    expect(t.inputs[0]!.level).toBe(2);
    expect(t.outputLevel).toBe(3);
    expect(leveled.status(v, o)).toEqual({ sortedRuns: 2, score: 1.5 });
  });

  it("collects grandparents and refuses a trivial move over too many of them", () => {
    const gps = Array.from({ length: 12 }, (_, i) => meta(30 + i, `c${i.toString(16)}`, `c${i.toString(16)}z`, 100));
    const v = versionOf({ 1: [meta(10, "c", "d", 1200)], 3: gps });
    const t = leveled.pick(v, o, noPointer)!;
    expect(t.outputLevel).toBe(2);
    expect(t.grandparents.map((f) => f.fileNumber)).toEqual(gps.map((f) => f.fileNumber));
    expect(t.trivialMove).toBe(false);
    expect(t.bottommost).toBe(false);
  });

  it("knows bottommost from the levels below the output", () => {
    const v = versionOf({ 1: [meta(10, "c", "d", 1200)], 2: [meta(20, "c", "c5")], 4: [meta(40, "x", "y")] });
    expect(leveled.pick(v, o, noPointer)!.bottommost).toBe(true);
    const w = versionOf({ 1: [meta(10, "c", "d", 1200)], 2: [meta(20, "c", "c5")], 4: [meta(40, "d", "y")] });
    expect(leveled.pick(w, o, noPointer)!.bottommost).toBe(false);
  });

  it("stalls writes at maxSortedRuns level-0 files", () => {
    const l0 = (n: number): FileMeta[] => Array.from({ length: n }, (_, i) => meta(i + 1, "a", "b", 10, i * 10, i * 10 + 5));
    expect(leveled.mustStall(versionOf({ 0: l0(7) }), o)).toBe(false);
    expect(leveled.mustStall(versionOf({ 0: l0(8) }), o)).toBe(true);
  });

  it("manual: moves everything in the range down to the deepest level, never by trivial move, and ends", () => {
    let v = versionOf({
      0: [meta(1, "a", "k", 50, 100, 110), meta(2, "p", "z", 50, 120, 130)],
      1: [meta(10, "a", "c", 300), meta(11, "d", "f", 300), meta(12, "x", "y", 300)],
      3: [meta(30, "b", "e", 500), meta(31, "q", "r", 500)],
    });
    const m = new ManualCompaction({ smallest: "b", largest: "e" });
    let steps = 0;
    for (let t = leveled.pickManual(v, o, m); t !== undefined; t = leveled.pickManual(v, o, m)) {
      expect(t.reason).toBe("manual");
      expect(t.trivialMove).toBe(false);
      v = applyMeta(v, t);
      expect(++steps).toBeLessThan(50);
    }
    expect(m.done).toBe(true);
    expect(leveled.pickManual(v, o, m)).toBeUndefined();
    for (let level = 0; level < 3; level++) {
      expect(v.files(level).filter((f) => !(f.largestKey < "b" || f.smallestKey > "e"))).toEqual([]);
    }
    expect(v.files(0).map((f) => f.fileNumber)).toEqual([2]);
  });
});

/** Level-0 runs of the given sizes (newest first), disjoint seq ranges, all spanning "a".."z". */
function l0Runs(sizes: number[], keys: [string, string] = ["a", "z"]): FileMeta[] {
  return sizes.map((s, i) => meta(100 + i, keys[0], keys[1], s, 1000 - i * 10, 1000 - i * 10 + 5));
}

describe("tiered picker", () => {
  const o = opts({ compaction: "tiered", l0CompactionTrigger: 4, targetFileBytes: 100, maxSortedRuns: 10 });

  it("waits for l0CompactionTrigger runs", () => {
    expect(tiered.pick(versionOf({ 0: l0Runs([10, 10]), 6: [meta(1, "a", "z", 10)] }), o, noPointer)).toBeUndefined();
  });

  it("merges everything into the bottom level when space amplification is over the limit", () => {
    const v = versionOf({ 0: l0Runs([100, 100, 100]), 6: [meta(1, "a", "m", 50), meta(2, "n", "z", 50)] });
    const t = tiered.pick(v, o, noPointer)!;
    expect(t.reason).toBe("space-amp");
    expect(t.outputLevel).toBe(6);
    expect(numbers(t, 0)).toEqual([100, 101, 102]);
    expect(numbers(t, 6)).toEqual([1, 2]);
    expect(t.bottommost).toBe(true);
    expect(t.targetFileBytes).toBe(100);
  });

  it("merges the longest chain of adjacent similar-size runs into one level-0 file", () => {
    const v = versionOf({ 0: l0Runs([10, 10, 10, 40]), 6: [meta(1, "a", "z", 10_000)] });
    const t = tiered.pick(v, o, noPointer)!;
    expect(t.reason).toBe("size-ratio");
    expect(numbers(t, 0)).toEqual([100, 101, 102]);
    expect(t.outputLevel).toBe(0);
    expect(t.targetFileBytes).toBeUndefined();
    expect(t.bottommost).toBe(false);
    expect(t.grandparents).toEqual([]);
  });

  it("a chain reaching the oldest run writes the bottom level, taking only the bottom files it overlaps", () => {
    const l0 = [meta(100, "a", "c", 1, 400, 405), meta(101, "a", "c", 1, 300, 305), meta(102, "a", "c", 1, 200, 205), meta(103, "a", "c", 2, 100, 105)];
    const w = versionOf({ 0: l0, 6: [meta(1, "a", "b", 2), meta(2, "c", "d", 2), meta(3, "x", "y", 1)] });
    const t = tiered.pick(w, o, noPointer)!;
    expect(t.reason).toBe("size-ratio");
    expect(t.outputLevel).toBe(6);
    expect(numbers(t, 0)).toEqual([100, 101, 102, 103]);
    expect(numbers(t, 6)).toEqual([1, 2]);
    expect(t.bottommost).toBe(true);
  });

  it("falls back to merging the newest runs when no sizes are similar", () => {
    const v = versionOf({ 0: l0Runs([1, 10, 100, 1000]), 6: [meta(1, "a", "z", 100_000)] });
    const t = tiered.pick(v, o, noPointer)!;
    expect(t.reason).toBe("run-count");
    expect(numbers(t, 0)).toEqual([100, 101, 102]);
    expect(t.outputLevel).toBe(0);
  });

  it("always merges runs adjacent in sequence order", () => {
    for (let seed = 0; seed < 200; seed++) {
      const sizes = Array.from({ length: 4 + (seed % 6) }, (_, i) => 1 + ((seed * 7919 + i * 104_729) % 97));
      const v = versionOf({ 0: l0Runs(sizes), 6: seed % 3 === 0 ? [] : [meta(1, "a", "z", 50 + seed)] });
      const t = tiered.pick(v, o, noPointer)!;
      const order = v.files(0).map((f) => f.fileNumber);
      const idx = numbers(t, 0).map((n) => order.indexOf(n)).sort((a, b) => a - b);
      for (let i = 1; i < idx.length; i++) expect(idx[i]).toBe(idx[i - 1]! + 1);
      if (t.outputLevel === 6) expect(idx[idx.length - 1]).toBe(order.length - 1);
      else expect(t.outputLevel).toBe(0);
    }
  });

  it("stalls writes at maxSortedRuns level-0 files", () => {
    expect(tiered.mustStall(versionOf({ 0: l0Runs(Array(9).fill(1)) }), o)).toBe(false);
    expect(tiered.mustStall(versionOf({ 0: l0Runs(Array(10).fill(1)) }), o)).toBe(true);
  });

  it("manual: one merge from the newest run overlapping the range down to the bottom", () => {
    const l0 = [meta(100, "p", "q", 5, 400, 405), meta(101, "a", "c", 5, 300, 305), meta(102, "x", "y", 5, 200, 205)];
    const v = versionOf({ 0: l0, 6: [meta(1, "a", "b", 20), meta(2, "m", "n", 20)] });
    const m = new ManualCompaction({ smallest: "b", largest: "b" });
    const t = tiered.pickManual(v, o, m)!;
    expect(numbers(t, 0)).toEqual([101, 102]);
    expect(t.outputLevel).toBe(6);
    expect(t.trivialMove).toBe(false);
    expect(t.bottommost).toBe(true);
    expect(tiered.pickManual(applyMeta(v, t), o, m)).toBeUndefined();
  });
});

describe("mobile picker", () => {
  const o = opts({ compaction: "mobile", maxSortedRuns: 6, targetFileBytes: 100 });

  it("does nothing in the background until the run cap", () => {
    expect(mobile.pick(versionOf({ 0: l0Runs([1, 1, 1, 1, 1]) }), o, noPointer)).toBeUndefined();
    const t = mobile.pick(versionOf({ 0: l0Runs([1, 1, 1, 1, 1, 1]) }), o, noPointer)!;
    expect(t.reason).toBe("run-cap");
    expect(t.inputs.flatMap((i) => i.files).length).toBeLessThanOrEqual(4);
  });

  it("a bounded step takes the cheapest adjacent runs within the budget", () => {
    const v = versionOf({ 0: l0Runs([300, 5, 5, 5, 5, 300]), 6: [meta(1, "a", "z", 5000)] });
    const t = mobile.pickIdle(v, o)!;
    expect(t.reason).toBe("idle");
    expect(numbers(t, 0)).toEqual([101, 102, 103, 104]);
    expect(inputBytes(t)).toBeLessThanOrEqual(400);
    expect(t.outputLevel).toBe(0);
  });

  it("idle does nothing when no step fits the budget, the cap forces the cheapest pair", () => {
    const sizes = [1000, 1000, 1000, 1000, 1000, 900];
    expect(mobile.pickIdle(versionOf({ 0: l0Runs(sizes.slice(0, 3)) }), o)).toBeUndefined();
    const t = mobile.pick(versionOf({ 0: l0Runs(sizes) }), o, noPointer)!;
    expect(numbers(t, 0)).toEqual([104, 105]);
    expect(t.outputLevel).toBe(6);
  });

  it("prefers a trivial move of the oldest run into the bottom level", () => {
    const v = versionOf({ 0: [...l0Runs([5, 5]), meta(50, "zz", "zzz", 50, 10, 20)], 6: [meta(1, "a", "b", 5000)] });
    const t = mobile.pickIdle(v, o)!;
    expect(t.trivialMove).toBe(true);
    expect(numbers(t, 0)).toEqual([50]);
    expect(t.outputLevel).toBe(6);
  });

  it("idle wants at least two runs; writes stall only at twice the cap", () => {
    expect(mobile.pickIdle(versionOf({ 6: [meta(1, "a", "z")] }), o)).toBeUndefined();
    expect(mobile.mustStall(versionOf({ 0: l0Runs(Array(11).fill(1)) }), o)).toBe(false);
    expect(mobile.mustStall(versionOf({ 0: l0Runs(Array(12).fill(1)) }), o)).toBe(true);
    expect(mobile.status(versionOf({ 0: l0Runs([1, 1, 1]), 6: [meta(1, "a", "z")] }), o)).toEqual({ sortedRuns: 4, score: 4 / 6 });
  });

  it("steps at the cap bring the run count under it and each stays bounded", () => {
    let v = versionOf({ 0: l0Runs(Array.from({ length: 9 }, (_, i) => 10 + i)) });
    let steps = 0;
    for (let t = mobile.pick(v, o, noPointer); t !== undefined; t = mobile.pick(v, o, noPointer)) {
      expect(t.inputs.flatMap((i) => i.files).length).toBeLessThanOrEqual(4);
      v = applyMeta(v, t);
      expect(++steps).toBeLessThan(10);
    }
    expect(mobile.status(v, o).sortedRuns).toBeLessThan(6);
    expect(MAX_LEVELS).toBe(7);
  });
});
