import { describe, expect, test } from "vitest";
import { AssertionFailedError } from "../../../src/errors.ts";
import { keyPrefix, SORTED_INDEX_FANOUT, SortedIndex, type SortedIndexCursor } from "../../../src/engine/memtable/sorted-index.ts";
import fc from "fast-check";
import { SeededRandom } from "../../../src/platform/random.ts";
import { compareLatin1 } from "./memtable-model.ts";

/** Random latin1 keys of 1..maxLen chars. */
function randomKey(rnd: SeededRandom, maxLen: number): string {
  const n = 1 + rnd.int(maxLen);
  let s = "";
  for (let i = 0; i < n; i++) s += String.fromCharCode(rnd.int(256));
  return s;
}

/** Fixed-width big-endian counter: ascending numbers give ascending keys. */
function counterKey(i: number): string {
  return String.fromCharCode((i >>> 24) & 255, (i >>> 16) & 255, (i >>> 8) & 255, i & 255);
}

/** Index of the first element >= key in a sorted array. */
function lowerBound(sorted: string[], key: string): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (compareLatin1(sorted[mid]!, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function walk(c: SortedIndexCursor<number>, forward: boolean): string[] {
  const out: string[] = [];
  if (forward) for (c.seekFirst(); c.valid(); c.next()) out.push(c.key());
  else for (c.seekLast(); c.valid(); c.prev()) out.push(c.key());
  return out;
}

/** Builds an index from keys in the given order; values are the first insertion position. */
function build(keys: string[]): SortedIndex<number> {
  const index = new SortedIndex<number>();
  keys.forEach((k, i) => index.insert(k, i));
  return index;
}

describe("SortedIndex", () => {
  const orders: Array<[string, (n: number, rnd: SeededRandom) => string[]]> = [
    ["ascending", (n) => Array.from({ length: n }, (_, i) => counterKey(i))],
    ["descending", (n) => Array.from({ length: n }, (_, i) => counterKey(n - i))],
    ["random", (n, rnd) => Array.from({ length: n }, () => randomKey(rnd, 6))],
    ["two interleaved ascending runs", (n) => Array.from({ length: n }, (_, i) => counterKey((i & 1) * 0x10000000 + (i >> 1)))],
  ];

  for (const [name, make] of orders) {
    test(`${name} inserts: every key found, both walks sorted and complete`, () => {
      const rnd = new SeededRandom(1234);
      const keys = make(30_000, rnd);
      const index = build(keys);
      const sorted = [...new Set(keys)].sort(compareLatin1);
      expect(index.size).toBe(sorted.length);
      expect(index.innerLevels).toBeGreaterThanOrEqual(2);
      expect(walk(index.cursor(), true)).toEqual(sorted);
      expect(walk(index.cursor(), false)).toEqual([...sorted].reverse());
      const first = new Map<string, number>();
      keys.forEach((k, i) => first.has(k) || first.set(k, i));
      for (const [k, i] of first) if (index.find(k) !== i) expect(index.find(k)).toBe(i);
      expect(index.find("\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff\u00ff")).toBeUndefined();
      // A second insert of a present key keeps the first value and changes nothing.
      expect(index.insert(sorted[7]!, -1)).toBe(first.get(sorted[7]!));
      expect(index.size).toBe(sorted.length);
    });
  }

  test("seek and seekForPrev at, just after and just before every key (leaf edges included)", () => {
    const rnd = new SeededRandom(99);
    const keys = Array.from({ length: 5_000 }, () => randomKey(rnd, 4));
    const index = build(keys);
    const sorted = [...new Set(keys)].sort(compareLatin1);
    const c = index.cursor();
    for (let i = 0; i < sorted.length; i++) {
      const k = sorted[i]!;
      c.seek(k);
      expect(c.key()).toBe(k);
      c.seekForPrev(k);
      expect(c.key()).toBe(k);
      c.seek(k + "\u0000"); // the smallest string after k
      expect(c.valid() ? c.key() : undefined).toBe(sorted[i + 1]);
      c.seekForPrev(k.slice(0, -1) + String.fromCharCode(k.charCodeAt(k.length - 1) - 1) + "\u00ff\u00ff\u00ff\u00ff\u00ff");
      const before = sorted[lowerBound(sorted, k) - 1];
      if (k.charCodeAt(k.length - 1) > 0) expect(c.valid() ? c.key() : undefined).toBe(before);
    }
    c.seek(sorted[sorted.length - 1] + "\u0000");
    expect(c.valid()).toBe(false);
    c.seekForPrev("");
    expect(c.valid()).toBe(false);
  });

  test("a deep tree (3+ inner levels) from 150k ascending keys walks completely", () => {
    const n = 150_000;
    const index = build(Array.from({ length: n }, (_, i) => counterKey(i)));
    expect(index.innerLevels).toBeGreaterThanOrEqual(3);
    const c = index.cursor();
    let i = 0;
    for (c.seekFirst(); c.valid(); c.next()) expect(c.value()).toBe(i++);
    expect(i).toBe(n);
  });

  test("cursors step to the true neighbour while inserts split leaves and inner nodes under them", () => {
    const rnd = new SeededRandom(7);
    const index = new SortedIndex<number>();
    const sorted: string[] = [];
    const insert = (k: string): void => {
      if (index.insert(k, sorted.length) !== sorted.length) return;
      sorted.splice(lowerBound(sorted, k), 0, k);
    };
    for (let i = 0; i < 2_000; i++) insert(randomKey(rnd, 3));
    const cursors = [index.cursor(), index.cursor(), index.cursor()];
    cursors.forEach((c) => c.seek(randomKey(rnd, 3)));
    for (let step = 0; step < 20_000; step++) {
      const c = cursors[step % cursors.length]!;
      if (!c.valid()) {
        c.seek(randomKey(rnd, 3));
        continue;
      }
      const here = c.key();
      // Crowd the cursor's own leaf (keys right after and before it) as well as random places.
      for (let j = rnd.int(4); j > 0; j--) insert(here + String.fromCharCode(rnd.int(256)));
      if (rnd.int(2) === 0) insert(here.slice(0, -1));
      for (let j = rnd.int(3); j > 0; j--) insert(randomKey(rnd, 3));
      expect(c.key()).toBe(here);
      const forward = rnd.int(2) === 0;
      if (forward) c.next();
      else c.prev();
      const pos = lowerBound(sorted, here);
      expect(sorted[pos]).toBe(here);
      expect(c.valid() ? c.key() : undefined).toBe(forward ? sorted[pos + 1] : sorted[pos - 1]);
    }
    expect(index.size).toBe(sorted.length);
    expect(index.size).toBeGreaterThan(SORTED_INDEX_FANOUT * SORTED_INDEX_FANOUT);
  });

  test("an unpositioned cursor refuses to read or step", () => {
    const index = build(["a"]);
    const c = index.cursor();
    expect(c.valid()).toBe(false);
    expect(() => c.key()).toThrow(AssertionFailedError);
    expect(() => c.value()).toThrow(AssertionFailedError);
    expect(() => c.prev()).toThrow(AssertionFailedError);
    c.seekFirst();
    c.next();
    expect(c.valid()).toBe(false);
  });

  test("keyPrefix preserves order: a smaller prefix means a smaller key, a smaller key never a larger prefix", () => {
    const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 9 }).map((cs) => String.fromCharCode(...cs));
    fc.assert(
      fc.property(latin1, latin1, (a, b) => {
        const c = compareLatin1(a, b);
        if (keyPrefix(a) < keyPrefix(b)) expect(c).toBeLessThan(0);
        if (c < 0) expect(keyPrefix(a)).toBeLessThanOrEqual(keyPrefix(b));
        if (c === 0) expect(keyPrefix(a)).toBe(keyPrefix(b));
      }),
      { numRuns: 2000 },
    );
    // Keys that differ only past the sixth byte, or by trailing zero bytes, tie and fall back to the string.
    expect(keyPrefix("abcdefX")).toBe(keyPrefix("abcdefY"));
    expect(keyPrefix("ab")).toBe(keyPrefix("ab\0"));
    expect(keyPrefix("\xff\xff\xff\xff\xff\xff")).toBe(2 ** 48 - 1);
    const index = build(["abcdefY", "ab\0", "abcdefX", "ab", "abcdef"]);
    expect(walk(index.cursor(), true)).toEqual(["ab", "ab\0", "abcdef", "abcdefX", "abcdefY"]);
  });

  test("upsert replaces and returns the old value; a cursor's liveValue sees it, value() keeps what it read", () => {
    const rnd = new SeededRandom(7);
    const index = new SortedIndex<number>();
    const model = new Map<string, number>();
    let overwrites = 0;
    for (let i = 0; i < 3000; i++) {
      // Short keys over a small alphabet, so many upserts hit an existing key.
      const k = randomKey(rnd, 2).replace(/[^]/g, (ch) => String.fromCharCode(97 + (ch.charCodeAt(0) % 8)));
      const old = index.upsert(k, i);
      expect(old).toBe(model.get(k));
      if (old !== undefined) overwrites++;
      model.set(k, i);
      expect(index.find(k)).toBe(i);
    }
    expect(overwrites).toBeGreaterThan(1000);
    expect(index.size).toBe(model.size);
    const keys = [...model.keys()];
    const c = index.cursor();
    c.seek(keys[0]!);
    const before = c.value();
    // Inserts elsewhere shift slots; the upsert of the cursor's own key must still be seen.
    for (let i = 0; i < 500; i++) index.insert(randomKey(rnd, 6) + "~", -1);
    index.upsert(keys[0]!, 99_999);
    expect(c.key()).toBe(keys[0]);
    expect(c.value()).toBe(before);
    expect(c.liveValue()).toBe(99_999);
  });
});
