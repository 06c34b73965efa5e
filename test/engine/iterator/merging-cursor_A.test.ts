import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { AssertionFailedError } from "../../../src/errors.ts";
import type { KeyCursor } from "../../../src/engine/cursor.ts";
import { KIND_DELETE, KIND_PUT, MemTable } from "../../../src/engine/memtable/memtable.ts";
import { MergingCursor } from "../../../src/engine/iterator/merging-cursor.ts";
import { type AddOp, Model, addOpArb, applyAdd, compareLatin1, keyArb, sameEntry } from "../memtable/memtable-model.ts";

/** Several memtables filled by ops spread over them at random (so seqs interleave across children), and one model of their union. */
interface Sources {
  mems: MemTable[];
  model: Model;
  seqHigh: number;
}

const sourcesArb = fc
  .integer({ min: 1, max: 5 })
  .chain((n) => fc.record({ n: fc.constant(n), ops: fc.array(fc.tuple(fc.nat({ max: n - 1 }), addOpArb), { maxLength: 250 }) }));

function build({ n, ops }: { n: number; ops: [number, AddOp][] }): Sources {
  const mems = Array.from({ length: n }, () => new MemTable());
  const model = new Model();
  let seq = 0;
  for (const [child, op] of ops) seq = applyAdd(mems[child]!, model, op, seq);
  return { mems, model, seqHigh: seq };
}

function merged(s: Sources): MergingCursor {
  return new MergingCursor(s.mems.map((m) => m.iterator()));
}

function at(c: KeyCursor): string | undefined {
  return c.valid() ? c.key() : undefined;
}

/** Checks the cursor stands where the model's index says and shows the model's version at every probed snapshot. */
function expectAt(c: KeyCursor, s: Sources, idx: number, snaps: number[]): void {
  const want = idx >= 0 && idx < s.model.keys.length ? s.model.keys[idx] : undefined;
  expect(at(c)).toBe(want);
  if (want === undefined) return;
  for (const snap of snaps) expect(sameEntry(c.visible(snap), s.model.get(want, snap))).toBe(true);
}

function snapsOf(s: Sources, picks: number[]): number[] {
  return [s.seqHigh, 0, ...picks.map((p) => p % (s.seqHigh + 1))];
}

/** Index of the first model key >= key (or the model's length). */
function lowerIndex(s: Sources, key: string): number {
  const i = s.model.keys.findIndex((k) => compareLatin1(k, key) >= 0);
  return i < 0 ? s.model.keys.length : i;
}

/** Index of the last model key <= key (or -1). */
function floorIndex(s: Sources, key: string): number {
  for (let i = s.model.keys.length - 1; i >= 0; i--) if (compareLatin1(s.model.keys[i]!, key) <= 0) return i;
  return -1;
}

const snapPicks = fc.array(fc.nat(), { minLength: 1, maxLength: 3 });

describe("MergingCursor against a model of several memtables", () => {
  test("forward from seekFirst and reverse from seekLast give the model's (key, visible version) sequence", () => {
    fc.assert(
      fc.property(sourcesArb, snapPicks, (spec, picks) => {
        const s = build(spec);
        const snaps = snapsOf(s, picks);
        const c = merged(s);
        let idx = 0;
        for (c.seekFirst(); c.valid(); c.next()) expectAt(c, s, idx++, snaps);
        expect(idx).toBe(s.model.keys.length);
        idx = s.model.keys.length - 1;
        for (c.seekLast(); c.valid(); c.prev()) expectAt(c, s, idx--, snaps);
        expect(idx).toBe(-1);
      }),
      { numRuns: 200 },
    );
  });

  test("seek walks forward and seekForPrev walks backward from any key", () => {
    fc.assert(
      fc.property(sourcesArb, fc.array(keyArb, { minLength: 1, maxLength: 5 }), snapPicks, (spec, probes, picks) => {
        const s = build(spec);
        const snaps = snapsOf(s, picks);
        const c = merged(s);
        for (const probe of [...probes, ...s.model.keys.slice(0, 3)]) {
          let idx = lowerIndex(s, probe);
          c.seek(probe);
          expectAt(c, s, idx, snaps);
          for (; c.valid(); c.next()) expectAt(c, s, idx++, snaps);
          expect(idx).toBe(s.model.keys.length);
          idx = floorIndex(s, probe);
          c.seekForPrev(probe);
          expectAt(c, s, idx, snaps);
          for (; c.valid(); c.prev()) expectAt(c, s, idx--, snaps);
          expect(idx).toBe(-1);
        }
      }),
      { numRuns: 200 },
    );
  });

  type Move = { op: "next" | "prev" | "first" | "last" } | { op: "seek" | "seekForPrev"; key: string };
  const moveArb: fc.Arbitrary<Move> = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom<Move>({ op: "next" }, { op: "prev" }) },
    { weight: 1, arbitrary: fc.constantFrom<Move>({ op: "first" }, { op: "last" }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom<"seek" | "seekForPrev">("seek", "seekForPrev"), key: keyArb }) },
  );

  test("random walks mixing directions, seeks and steps stay on the model's keys", () => {
    fc.assert(
      fc.property(sourcesArb, fc.array(moveArb, { maxLength: 80 }), snapPicks, (spec, moves, picks) => {
        const s = build(spec);
        const snaps = snapsOf(s, picks);
        const c = merged(s);
        const n = s.model.keys.length;
        c.seekFirst();
        let idx = n === 0 ? -1 : 0; // -1 or n: not positioned
        for (const m of moves) {
          const valid = idx >= 0 && idx < n;
          if ((m.op === "next" || m.op === "prev") && !valid) continue;
          switch (m.op) {
            case "next": c.next(); idx++; break;
            case "prev": c.prev(); idx--; break;
            case "first": c.seekFirst(); idx = n === 0 ? -1 : 0; break;
            case "last": c.seekLast(); idx = n - 1; break;
            case "seek": c.seek(m.key); idx = lowerIndex(s, m.key); break;
            case "seekForPrev": c.seekForPrev(m.key); idx = floorIndex(s, m.key); break;
          }
          expectAt(c, s, idx, snaps);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe("MergingCursor cases", () => {
  test("the version with the highest visible seq wins whatever the children's order", () => {
    const older = new MemTable();
    const newer = new MemTable();
    older.add("k", 5, KIND_PUT, new Uint8Array([5]));
    newer.add("k", 3, KIND_PUT, new Uint8Array([3]));
    newer.add("k", 7, KIND_DELETE, undefined);
    older.add("k", 9, KIND_PUT, new Uint8Array([9]));
    for (const order of [[older, newer], [newer, older]]) {
      const c = new MergingCursor(order.map((m) => m.iterator()));
      c.seekFirst();
      expect(c.key()).toBe("k");
      expect([2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => c.visible(s)?.seq)).toEqual([undefined, 3, 3, 5, 5, 7, 7, 9, 9]);
      expect(c.visible(7)?.kind).toBe(KIND_DELETE);
      c.next();
      expect(c.valid()).toBe(false);
    }
  });

  test("direction switches on a key several children share, and at the ends", () => {
    const a = new MemTable();
    const b = new MemTable();
    let seq = 0;
    for (const k of ["a", "c", "e"]) a.add(k, ++seq, KIND_PUT, new Uint8Array([1]));
    for (const k of ["b", "c", "d"]) b.add(k, ++seq, KIND_PUT, new Uint8Array([2]));
    const c = new MergingCursor([a.iterator(), b.iterator()]);
    const walk: (string | undefined)[] = [];
    const step = (f: () => void): void => { f(); walk.push(at(c)); };
    step(() => c.seek("c"));
    step(() => c.prev());
    step(() => c.next());
    step(() => c.next());
    step(() => c.prev());
    step(() => c.prev());
    step(() => c.seekForPrev("cc"));
    step(() => c.next());
    step(() => c.seekLast());
    step(() => c.next());
    expect(walk).toEqual(["c", "b", "c", "d", "c", "b", "c", "d", "e", undefined]);
    c.seekFirst();
    c.prev();
    expect(c.valid()).toBe(false);
  });

  test("no children, or only empty ones, is never valid; stepping an invalid cursor is an assertion", () => {
    for (const children of [[], [new MemTable().iterator(), new MemTable().iterator()]]) {
      const c = new MergingCursor(children);
      for (const f of [() => c.seekFirst(), () => c.seekLast(), () => c.seek("x"), () => c.seekForPrev("x")]) {
        f();
        expect(c.valid()).toBe(false);
      }
      expect(() => c.next()).toThrow(AssertionFailedError);
      expect(() => c.prev()).toThrow(AssertionFailedError);
      expect(() => c.key()).toThrow(AssertionFailedError);
    }
  });
});
