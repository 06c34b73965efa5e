import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { AssertionFailedError } from "../../../src/errors.ts";
import type { KeyCursor } from "../../../src/engine/cursor.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { MemTable } from "../../../src/engine/memtable/memtable.ts";
import { TableBuilder, type TableBuilderOptions } from "../../../src/engine/sstable/table-builder.ts";
import { TableReader } from "../../../src/engine/sstable/table-reader.ts";
import type { FileMeta } from "../../../src/engine/manifest/version-edit.ts";
import { LevelCursor, type TableCursorLike } from "../../../src/engine/iterator/level-cursor.ts";
import { MergingCursor } from "../../../src/engine/iterator/merging-cursor.ts";
import {
  compareLatin1, describeEntry, entriesArb, keyArb, optionsArb, sameEntry, sortEntries, TableModel, type Entry,
} from "../sstable/sstable-helpers.ts";

/** Opens and releases tables of one level, counting both and tracking which are open. */
class Opener {
  readonly readers = new Map<number, TableReader>();
  readonly acquires = new Map<number, number>();
  readonly releases = new Map<number, number>();
  readonly open = new Set<number>();
  maxOpen = 0;
  totalAcquires = 0;

  acquire = (fileNumber: number): TableCursorLike => {
    const r = this.readers.get(fileNumber);
    if (r === undefined) throw new Error(`test: no table ${fileNumber}`);
    if (this.open.has(fileNumber)) throw new Error(`test: table ${fileNumber} opened twice`);
    this.open.add(fileNumber);
    this.maxOpen = Math.max(this.maxOpen, this.open.size);
    this.totalAcquires++;
    this.acquires.set(fileNumber, (this.acquires.get(fileNumber) ?? 0) + 1);
    return r.cursor();
  };

  release = (fileNumber: number): void => {
    if (!this.open.delete(fileNumber)) throw new Error(`test: release of table ${fileNumber} that is not open`);
    this.releases.set(fileNumber, (this.releases.get(fileNumber) ?? 0) + 1);
  };

  /** Every acquire of every table was matched by exactly one release. */
  expectBalanced(): void {
    expect(this.open.size).toBe(0);
    expect([...this.releases.entries()].sort()).toEqual([...this.acquires.entries()].sort());
  }

  closeAll(): void {
    for (const r of this.readers.values()) r.close();
  }
}

interface Level {
  files: FileMeta[];
  model: TableModel;
  opener: Opener;
  seqHigh: number;
}

/** Splits entries (table order) into files at the given cuts between distinct keys, builds each, and opens its reader. */
function buildLevel(entries: Entry[], cutPicks: number[], options: Omit<TableBuilderOptions, "fileNumber">): Level {
  const model = new TableModel(entries);
  const nKeys = model.keys.length;
  const cuts = [...new Set(cutPicks.map((p) => 1 + (p % Math.max(1, nKeys - 1))).filter((c) => c < nKeys))].sort((a, b) => a - b);
  const bounds = [0, ...cuts, nKeys];
  const fs = new MemFileSystem();
  fs.mkdir("/db", { recursive: true });
  const opener = new Opener();
  const files: FileMeta[] = [];
  let e = 0;
  for (let f = 0; f + 1 < bounds.length; f++) {
    const lastKey = model.keys[bounds[f + 1]! - 1]!;
    const fileNumber = 10 + f * 3;
    const path = `/db/${fileNumber}.sst`;
    const h = fs.open(path, { create: true, truncate: true });
    const b = new TableBuilder(h, { ...options, fileNumber });
    for (; e < entries.length && compareLatin1(entries[e]!.key, lastKey) <= 0; e++) b.add(entries[e]!.key, entries[e]!.seq, entries[e]!.kind, entries[e]!.value);
    const p = b.finish();
    h.close();
    files.push({ fileNumber, sizeBytes: fs.stat(path)!.sizeBytes, smallestKey: p.smallestKey, largestKey: p.largestKey, minSeq: p.minSeq, maxSeq: p.maxSeq });
    opener.readers.set(fileNumber, TableReader.open(fs, path, fileNumber));
  }
  expect(e).toBe(entries.length);
  expect(files.length).toBeLessThanOrEqual(6);
  const seqHigh = entries.reduce((m, x) => Math.max(m, x.seq), 0);
  return { files, model, opener, seqHigh };
}

const levelArb = fc.record({
  entries: entriesArb(200),
  cuts: fc.array(fc.nat(), { maxLength: 5 }),
  options: optionsArb,
});

function withLevel(spec: { entries: Entry[]; cuts: number[]; options: Omit<TableBuilderOptions, "fileNumber"> }, fn: (lv: Level) => void): void {
  const lv = buildLevel(spec.entries, spec.cuts, spec.options);
  try {
    fn(lv);
  } finally {
    lv.opener.closeAll();
  }
}

function cursorOf(lv: Level): LevelCursor {
  return new LevelCursor(lv.files, lv.opener.acquire, lv.opener.release);
}

function at(c: KeyCursor): string | undefined {
  return c.valid() ? c.key() : undefined;
}

/** The cursor stands on model key idx (or is invalid when idx is out of range) and shows the model's versions. */
function expectAt(c: KeyCursor, model: TableModel, idx: number, snaps: number[]): void {
  const want = idx >= 0 && idx < model.keys.length ? model.keys[idx] : undefined;
  expect(at(c)).toBe(want);
  if (want === undefined) return;
  for (const snap of snaps) {
    const got = c.visible(snap);
    if (!sameEntry(got, model.get(want, snap))) expect(describeEntry(got)).toBe(describeEntry(model.get(want, snap)));
  }
}

/** Probe keys: random ones, stored keys, their neighbours, and the gaps and edges of every file. */
function probesOf(lv: Level, extra: string[]): string[] {
  const out = [...extra, ""];
  for (const f of lv.files) out.push(f.smallestKey, f.largestKey, `${f.largestKey}\u0000`, f.smallestKey.slice(0, -1), `${f.smallestKey.slice(0, -1)}\u00ff`);
  for (const k of lv.model.keys.slice(0, 20)) out.push(`${k}\u0000`, k.slice(0, -1));
  return out;
}

const snapPicks = fc.array(fc.nat(), { minLength: 1, maxLength: 3 });

function snapsOf(lv: Level, picks: number[]): number[] {
  return [lv.seqHigh, 0, ...picks.map((p) => p % (lv.seqHigh + 1))];
}

describe("LevelCursor over real tables against a sorted model", () => {
  test("forward from seekFirst and reverse from seekLast cross every file; every open is released once", () => {
    fc.assert(
      fc.property(levelArb, snapPicks, (spec, picks) => {
        withLevel(spec, (lv) => {
          const snaps = snapsOf(lv, picks);
          const c = cursorOf(lv);
          const n = lv.model.keys.length;
          let idx = 0;
          for (c.seekFirst(); c.valid(); c.next()) {
            expectAt(c, lv.model, idx++, snaps);
            expect(lv.opener.open.size).toBe(1);
          }
          expect(idx).toBe(n);
          expect(lv.opener.open.size).toBe(0); // ran off the end: released
          expect(lv.opener.totalAcquires).toBe(lv.files.length); // each file opened once on a full scan
          idx = n - 1;
          for (c.seekLast(); c.valid(); c.prev()) expectAt(c, lv.model, idx--, snaps);
          expect(idx).toBe(-1);
          expect(lv.opener.totalAcquires).toBe(2 * lv.files.length);
          c.seekFirst();
          c.close();
          c.close();
          expect(lv.opener.maxOpen).toBe(1);
          lv.opener.expectBalanced();
        });
      }),
      { numRuns: 150 },
    );
  });

  test("seek and seekForPrev from keys inside, between and beyond files open only the file holding the answer", () => {
    fc.assert(
      fc.property(levelArb, fc.array(keyArb, { maxLength: 5 }), snapPicks, (spec, extra, picks) => {
        withLevel(spec, (lv) => {
          const snaps = snapsOf(lv, picks);
          for (const probe of probesOf(lv, extra)) {
            // A fresh cursor per probe: the seek must open at most one table (lazy opening).
            const c = cursorOf(lv);
            const before = lv.opener.totalAcquires;
            let idx = lv.model.ceilingIndex(probe);
            c.seek(probe);
            expect(lv.opener.totalAcquires - before).toBe(idx < lv.model.keys.length ? 1 : 0);
            expectAt(c, lv.model, idx, snaps);
            for (; c.valid(); c.next()) expectAt(c, lv.model, idx++, snaps);
            expect(idx).toBe(lv.model.keys.length);
            c.close();
            const d = cursorOf(lv);
            const before2 = lv.opener.totalAcquires;
            idx = lv.model.floorIndex(probe);
            d.seekForPrev(probe);
            expect(lv.opener.totalAcquires - before2).toBe(idx >= 0 ? 1 : 0);
            expectAt(d, lv.model, idx, snaps);
            for (; d.valid(); d.prev()) expectAt(d, lv.model, idx--, snaps);
            expect(idx).toBe(-1);
            d.close();
          }
          expect(lv.opener.maxOpen).toBeLessThanOrEqual(1);
          lv.opener.expectBalanced();
        });
      }),
      { numRuns: 100 },
    );
  });

  type Move = { op: "next" | "prev" | "first" | "last" } | { op: "seek" | "seekForPrev"; key: string } | { op: "seekNear" | "seekForPrevNear"; pick: number };
  const moveArb: fc.Arbitrary<Move> = fc.oneof(
    { weight: 5, arbitrary: fc.constantFrom<Move>({ op: "next" }, { op: "prev" }) },
    { weight: 1, arbitrary: fc.constantFrom<Move>({ op: "first" }, { op: "last" }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom<"seek" | "seekForPrev">("seek", "seekForPrev"), key: keyArb }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constantFrom<"seekNear" | "seekForPrevNear">("seekNear", "seekForPrevNear"), pick: fc.nat() }) },
  );

  test("random walks mixing directions, seeks and steps stay on the model's keys with at most one table open", () => {
    fc.assert(
      fc.property(levelArb, fc.array(moveArb, { maxLength: 100 }), snapPicks, (spec, moves, picks) => {
        withLevel(spec, (lv) => {
          const snaps = snapsOf(lv, picks);
          const probes = probesOf(lv, []);
          const c = cursorOf(lv);
          const n = lv.model.keys.length;
          let idx = -1;
          for (const m of moves) {
            if ((m.op === "next" || m.op === "prev") && !(idx >= 0 && idx < n)) continue;
            switch (m.op) {
              case "next": c.next(); idx++; break;
              case "prev": c.prev(); idx--; break;
              case "first": c.seekFirst(); idx = 0; break;
              case "last": c.seekLast(); idx = n - 1; break;
              case "seek": c.seek(m.key); idx = lv.model.ceilingIndex(m.key); break;
              case "seekForPrev": c.seekForPrev(m.key); idx = lv.model.floorIndex(m.key); break;
              case "seekNear": { const k = probes[m.pick % probes.length]!; c.seek(k); idx = lv.model.ceilingIndex(k); break; }
              case "seekForPrevNear": { const k = probes[m.pick % probes.length]!; c.seekForPrev(k); idx = lv.model.floorIndex(k); break; }
            }
            expectAt(c, lv.model, idx, snaps);
            // On a key exactly its file is open; off the level nothing is.
            expect(lv.opener.open.size).toBe(c.valid() ? 1 : 0);
          }
          c.close();
          expect(lv.opener.maxOpen).toBeLessThanOrEqual(1);
          lv.opener.expectBalanced();
          expect(() => c.seekFirst()).toThrow(AssertionFailedError);
          expect(c.valid()).toBe(false);
        });
      }),
      { numRuns: 200 },
    );
  });
});

describe("LevelCursor cases", () => {
  const put = (key: string, seq: number): Entry => ({ key, seq, kind: 1, value: new Uint8Array([seq & 255]) });

  test("an empty level is never valid, opens nothing, and asserts on reads and steps", () => {
    const opener = new Opener();
    const c = new LevelCursor([], opener.acquire, opener.release);
    for (const f of [() => c.seekFirst(), () => c.seekLast(), () => c.seek(""), () => c.seek("x"), () => c.seekForPrev("x"), () => c.seekForPrev("\u00ff\u00ff")]) {
      f();
      expect(c.valid()).toBe(false);
    }
    expect(() => c.next()).toThrow(AssertionFailedError);
    expect(() => c.prev()).toThrow(AssertionFailedError);
    expect(() => c.key()).toThrow(AssertionFailedError);
    expect(() => c.visible(1)).toThrow(AssertionFailedError);
    c.close();
    expect(opener.totalAcquires).toBe(0);
  });

  test("direction switches at file boundaries and keys falling between files", () => {
    // Files: [b d] [f h] [j l] (one key per file boundary gap: c, e/g, i/k, and before a / after m).
    const entries = sortEntries(["b", "d", "f", "h", "j", "l"].map((k, i) => put(k, i + 1)));
    withLevel({ entries, cuts: [1, 3], options: { blockBytes: 1 } }, (lv) => {
      expect(lv.files.map((f) => `${f.smallestKey}${f.largestKey}`)).toEqual(["bd", "fh", "jl"]);
      const c = cursorOf(lv);
      const walk: (string | undefined)[] = [];
      const step = (f: () => void): void => { f(); walk.push(at(c)); };
      step(() => c.seek("e")); // gap between file 0 and 1: file 1's first key
      step(() => c.prev()); // back into file 0
      step(() => c.next()); // forward again into file 1
      step(() => c.seekForPrev("i")); // gap: file 1's last key
      step(() => c.next()); // into file 2
      step(() => c.prev());
      step(() => c.seekForPrev("a")); // before the level
      step(() => c.seek("m")); // after the level
      step(() => c.seekLast());
      step(() => c.next());
      step(() => c.seekFirst());
      step(() => c.prev());
      expect(walk).toEqual(["f", "d", "f", "h", "j", "h", undefined, undefined, "l", undefined, "b", undefined]);
      expect(lv.opener.open.size).toBe(0);
      c.close();
      lv.opener.expectBalanced();
    });
  });

  test("close() on a positioned cursor releases its file once; a second close is a no-op", () => {
    const entries = sortEntries(["a", "b", "c", "d"].map((k, i) => put(k, i + 1)));
    withLevel({ entries, cuts: [2], options: {} }, (lv) => {
      const c = cursorOf(lv);
      c.seek("c");
      expect(lv.opener.open.size).toBe(1);
      c.close();
      expect(lv.opener.open.size).toBe(0);
      c.close();
      lv.opener.expectBalanced();
      expect(lv.opener.totalAcquires).toBe(1);
      expect(() => c.next()).toThrow(AssertionFailedError);
    });
  });

  test("a failing open leaves no table pinned and the cursor not valid", () => {
    const entries = sortEntries(["a", "b", "c", "d"].map((k, i) => put(k, i + 1)));
    withLevel({ entries, cuts: [1], options: {} }, (lv) => {
      expect(lv.files.map((f) => `${f.smallestKey}${f.largestKey}`)).toEqual(["ab", "cd"]);
      const failing = lv.files[1]!.fileNumber;
      const c = new LevelCursor(
        lv.files,
        (n) => { if (n === failing) throw new Error("open failed"); return lv.opener.acquire(n); },
        lv.opener.release,
      );
      c.seek("b");
      expect(c.key()).toBe("b");
      expect(() => c.next()).toThrow("open failed");
      expect(c.valid()).toBe(false);
      expect(lv.opener.open.size).toBe(0);
      c.seekFirst();
      expect(c.key()).toBe("a");
      c.close();
      lv.opener.expectBalanced();
    });
  });
});

describe("LevelCursor under a MergingCursor with a memtable", () => {
  test("a memtable plus a level walks, seeks and shows versions like the model of their union", () => {
    fc.assert(
      fc.property(levelArb, fc.array(fc.boolean(), { maxLength: 200 }), fc.array(keyArb, { maxLength: 5 }), snapPicks, (spec, toMem, extra, picks) => {
        // Each version goes to the memtable or the level, so a key's versions may be split across both.
        const mem = new MemTable();
        const levelEntries: Entry[] = [];
        const entries = spec.entries.map((e) => ({ ...e, seq: e.seq + 1 })); // the memtable takes seqs from 1
        const memEntries: Entry[] = [];
        entries.forEach((e, i) => (toMem[i] === true ? memEntries : levelEntries).push(e));
        for (const e of [...memEntries].sort((x, y) => x.seq - y.seq)) mem.add(e.key, e.seq, e.kind, e.value); // the memtable takes seqs in order
        const union = new TableModel(entries);
        const lv = levelEntries.length > 0 ? buildLevel(levelEntries, spec.cuts, spec.options) : undefined;
        try {
          const opener = lv?.opener ?? new Opener();
          const level = new LevelCursor(lv?.files ?? [], opener.acquire, opener.release);
          const c = new MergingCursor([mem.iterator(), level]);
          const seqHigh = entries.reduce((m, x) => Math.max(m, x.seq), 0);
          const snaps = [seqHigh, 0, ...picks.map((p) => p % (seqHigh + 1))];
          let idx = 0;
          for (c.seekFirst(); c.valid(); c.next()) expectAt(c, union, idx++, snaps);
          expect(idx).toBe(union.keys.length);
          idx = union.keys.length - 1;
          for (c.seekLast(); c.valid(); c.prev()) expectAt(c, union, idx--, snaps);
          expect(idx).toBe(-1);
          const probes = lv !== undefined ? probesOf(lv, extra) : extra;
          for (const probe of probes) {
            idx = union.ceilingIndex(probe);
            c.seek(probe);
            expectAt(c, union, idx, snaps);
            if (c.valid()) { c.prev(); expectAt(c, union, idx - 1, snaps); }
            idx = union.floorIndex(probe);
            c.seekForPrev(probe);
            expectAt(c, union, idx, snaps);
            if (c.valid()) { c.next(); expectAt(c, union, idx + 1, snaps); }
          }
          level.close();
          expect(opener.maxOpen).toBeLessThanOrEqual(1);
          opener.expectBalanced();
        } finally {
          lv?.opener.closeAll();
        }
      }),
      { numRuns: 150 },
    );
  });
});
