import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { AssertionFailedError, ClosedError, InvalidArgumentError } from "../../../src/errors.ts";
import { TableCache } from "../../../src/engine/cache/table-cache.ts";

/** A reader that records when it is closed and fails if closed twice. */
class FakeReader {
  closed = false;
  constructor(readonly fileNumber: number, readonly id: number) {}
  close(): void {
    if (this.closed) throw new Error(`reader ${this.id} closed twice`);
    this.closed = true;
  }
}

function fixture(capacity: number): { cache: TableCache<FakeReader>; readers: FakeReader[] } {
  const readers: FakeReader[] = [];
  const cache = new TableCache(capacity, (f) => {
    const r = new FakeReader(f, readers.length);
    readers.push(r);
    return r;
  });
  return { cache, readers };
}

/** The same policy written plainly: entries by file, unpinned files in release order. */
class Model {
  entries = new Map<number, { refs: number; doomed: boolean; id: number }>();
  lru: number[] = [];
  opened = 0;
  closedIds = new Set<number>();
  evictions = 0;
  constructor(readonly capacity: number) {}

  acquire(f: number): number {
    let e = this.entries.get(f);
    if (e === undefined) {
      e = { refs: 0, doomed: false, id: this.opened++ };
      this.entries.set(f, e);
    } else if (e.refs === 0) this.lru = this.lru.filter((x) => x !== f);
    e.refs++;
    this.trim();
    return e.id;
  }

  release(f: number): void {
    const e = this.entries.get(f)!;
    e.refs--;
    if (e.refs > 0) return;
    if (e.doomed) this.close(f);
    else {
      this.lru.push(f);
      this.trim();
    }
  }

  evict(f: number): void {
    const e = this.entries.get(f);
    if (e === undefined) return;
    if (e.refs === 0) {
      this.lru = this.lru.filter((x) => x !== f);
      this.close(f);
    } else e.doomed = true;
  }

  private close(f: number): void {
    this.closedIds.add(this.entries.get(f)!.id);
    this.entries.delete(f);
  }

  private trim(): void {
    while (this.entries.size > this.capacity && this.lru.length > 0) {
      this.close(this.lru.shift()!);
      this.evictions++;
    }
  }
}

type Op = { op: "acquire" | "release" | "evict"; file: number };
const opArb: fc.Arbitrary<Op> = fc.record({
  op: fc.constantFrom<Op["op"]>("acquire", "acquire", "release", "release", "evict"),
  file: fc.integer({ min: 1, max: 8 }),
});

describe("TableCache against a model", () => {
  test("readers returned, readers closed and stats match the model; a pinned reader is never closed", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(opArb, { maxLength: 150 }), (capacity, ops) => {
        const { cache, readers } = fixture(capacity);
        const model = new Model(capacity);
        const held: FakeReader[] = [];
        for (const { op, file } of ops) {
          if (op === "acquire") {
            const r = cache.acquire(file);
            expect(r.id).toBe(model.acquire(file));
            expect(r.closed).toBe(false);
            held.push(r);
          } else if (op === "release") {
            const i = held.findIndex((r) => r.fileNumber === file);
            if (i < 0) continue;
            held.splice(i, 1);
            cache.release(file);
            model.release(file);
          } else {
            expect(cache.evict(file)).toBe(model.entries.has(file));
            model.evict(file);
          }
          for (const r of held) expect(r.closed).toBe(false);
          expect(new Set(readers.filter((r) => r.closed).map((r) => r.id))).toEqual(model.closedIds);
          const st = cache.stats();
          const pinned = [...model.entries.values()].filter((e) => e.refs > 0);
          expect(st).toMatchObject({
            entries: model.entries.size,
            pinned: pinned.length,
            doomed: pinned.filter((e) => e.doomed).length,
            overCapacity: Math.max(0, model.entries.size - capacity),
            opens: model.opened,
            closes: model.closedIds.size,
            evictions: model.evictions,
          });
          // Over capacity only while every entry is pinned.
          if (st.overCapacity > 0) expect(st.pinned).toBe(st.entries);
        }
        for (const r of held) cache.release(r.fileNumber);
        cache.close();
        expect(readers.every((r) => r.closed)).toBe(true);
        expect(cache.stats()).toMatchObject({ entries: 0, closes: readers.length });
      }),
      { numRuns: 300 },
    );
  });
});

describe("TableCache cases", () => {
  test("hits share one reader; the least recently released unpinned reader is evicted", () => {
    const { cache, readers } = fixture(2);
    const a = cache.acquire(1);
    expect(cache.acquire(1)).toBe(a);
    cache.acquire(2);
    cache.release(2);
    cache.release(1);
    cache.release(1);
    cache.acquire(3);
    expect(readers.map((r) => r.closed)).toEqual([false, true, false]);
    expect(cache.stats()).toMatchObject({ entries: 2, hits: 1, misses: 3, opens: 3, closes: 1, evictions: 1, pinned: 1 });
  });

  test("with every reader pinned the cache grows past capacity, says so, and shrinks on release", () => {
    const { cache, readers } = fixture(2);
    for (const f of [1, 2, 3, 4]) cache.acquire(f);
    expect(cache.stats()).toMatchObject({ entries: 4, pinned: 4, overCapacity: 2, evictions: 0 });
    expect(readers.some((r) => r.closed)).toBe(false);
    cache.release(3);
    cache.release(1);
    expect(readers.map((r) => r.closed)).toEqual([true, false, true, false]);
    expect(cache.stats()).toMatchObject({ entries: 2, pinned: 2, overCapacity: 0, evictions: 2 });
  });

  test("evict closes an unused reader now and a used one at its last release; a doomed reader is shared, not reopened", () => {
    const { cache, readers } = fixture(4);
    cache.acquire(1);
    cache.release(1);
    expect(cache.evict(1)).toBe(true);
    expect(readers[0]!.closed).toBe(true);
    expect(cache.evict(1)).toBe(false);
    const b = cache.acquire(2);
    expect(cache.evict(2)).toBe(true);
    expect(cache.stats()).toMatchObject({ doomed: 1, pinned: 1 });
    expect(cache.acquire(2)).toBe(b);
    cache.release(2);
    expect(b.closed).toBe(false);
    cache.release(2);
    expect(b.closed).toBe(true);
    expect(cache.stats()).toMatchObject({ entries: 0, doomed: 0, pinned: 0, opens: 2, closes: 2, evictions: 0 });
  });

  test("close with a reader in use asserts and closes nothing; after close, acquire is ClosedError", () => {
    const { cache, readers } = fixture(4);
    cache.acquire(1);
    cache.acquire(2);
    cache.release(2);
    expect(() => cache.close()).toThrow(AssertionFailedError);
    expect(readers.some((r) => r.closed)).toBe(false);
    cache.release(1);
    cache.close();
    cache.close();
    expect(readers.every((r) => r.closed)).toBe(true);
    expect(() => cache.acquire(1)).toThrow(ClosedError);
  });

  test("a release without an acquire asserts; a failing open caches nothing; bad capacity is rejected", () => {
    let fail = true;
    const cache = new TableCache(2, (f) => {
      if (fail) throw new Error(`cannot open ${f}`);
      return new FakeReader(f, 0);
    });
    expect(() => cache.release(5)).toThrow(AssertionFailedError);
    expect(() => cache.acquire(5)).toThrow(/cannot open 5/);
    expect(cache.stats()).toMatchObject({ entries: 0, pinned: 0, opens: 0, misses: 1 });
    fail = false;
    cache.acquire(5);
    cache.release(5);
    expect(() => cache.release(5)).toThrow(AssertionFailedError);
    for (const cap of [0, -1, 2.5]) expect(() => new TableCache(cap, (f) => new FakeReader(f, 0))).toThrow(InvalidArgumentError);
  });
});
