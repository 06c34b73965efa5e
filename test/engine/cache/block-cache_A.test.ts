import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { InvalidArgumentError } from "../../../src/errors.ts";
import {
  BLOCK_CACHE_ENTRY_OVERHEAD_BYTES as OVERHEAD,
  BlockCache,
  type BlockCacheStats,
  blockCacheKey,
} from "../../../src/engine/cache/block-cache.ts";

/** The obvious LRU: an array in recency order, oldest first. */
class LruModel {
  entries: { key: string; block: Uint8Array }[] = [];
  hits = 0;
  misses = 0;
  evictions = 0;
  constructor(readonly capacityBytes: number) {}

  private bytes(): number {
    return this.entries.reduce((sum, e) => sum + e.block.length + OVERHEAD, 0);
  }

  get(key: string): Uint8Array | undefined {
    const i = this.entries.findIndex((e) => e.key === key);
    if (i < 0) {
      this.misses++;
      return undefined;
    }
    this.hits++;
    const [e] = this.entries.splice(i, 1);
    this.entries.push(e!);
    return e!.block;
  }

  set(key: string, block: Uint8Array): void {
    this.delete(key);
    if (block.length + OVERHEAD > this.capacityBytes) return;
    this.entries.push({ key, block });
    while (this.bytes() > this.capacityBytes) {
      this.entries.shift();
      this.evictions++;
    }
  }

  delete(key: string): boolean {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => e.key !== key);
    return this.entries.length !== before;
  }

  evictFile(file: number): number {
    const before = this.entries.length;
    this.entries = this.entries.filter((e) => !e.key.startsWith(`${file}:`));
    return before - this.entries.length;
  }

  stats(): BlockCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      entries: this.entries.length,
      bytes: this.bytes(),
      capacityBytes: this.capacityBytes,
      evictions: this.evictions,
    };
  }
}

// Files 1 and 11 share the prefix "1", so evictFile(1) must not match "11:...".
const fileArb = fc.constantFrom(1, 2, 11);
const keyArb = fc.tuple(fileArb, fc.integer({ min: 0, max: 5 })).map(([f, o]) => blockCacheKey(f, o * 4096));
type Op =
  | { op: "get"; key: string }
  | { op: "set"; key: string; size: number }
  | { op: "delete"; key: string }
  | { op: "evictFile"; file: number };
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant("get" as const), key: keyArb }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant("set" as const), key: keyArb, size: fc.integer({ min: 0, max: 3000 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("delete" as const), key: keyArb }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("evictFile" as const), file: fileArb }) },
);

describe("BlockCache against an LRU model", () => {
  test("every get, removal count and stats match the model after each op", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 8000 }), fc.array(opArb, { maxLength: 200 }), (capacity, ops) => {
        const cache = new BlockCache(capacity);
        const model = new LruModel(capacity);
        for (const o of ops) {
          if (o.op === "get") expect(cache.get(o.key)).toBe(model.get(o.key));
          else if (o.op === "set") {
            const block = new Uint8Array(o.size);
            cache.set(o.key, block);
            model.set(o.key, block);
          } else if (o.op === "delete") expect(cache.delete(o.key)).toBe(model.delete(o.key));
          else expect(cache.evictFile(o.file)).toBe(model.evictFile(o.file));
          const st = cache.stats();
          expect(st).toEqual(model.stats());
          expect(st.bytes).toBeLessThanOrEqual(capacity);
        }
        const lookups = model.hits + model.misses;
        expect(cache.hitRate).toBe(lookups === 0 ? 0 : model.hits / lookups);
      }),
      { numRuns: 300 },
    );
  });
});

describe("BlockCache cases", () => {
  const block = (n: number, fill = 0): Uint8Array => new Uint8Array(n).fill(fill);

  test("a get refreshes recency, so the least recently used block is the one evicted", () => {
    const cache = new BlockCache(3 * (100 + OVERHEAD));
    const a = block(100, 1);
    cache.set("1:0", a);
    cache.set("1:100", block(100));
    cache.set("1:200", block(100));
    expect(cache.get("1:0")).toBe(a);
    cache.set("1:300", block(100));
    expect(cache.get("1:100")).toBeUndefined();
    expect(cache.get("1:0")).toBe(a);
    expect(cache.stats()).toMatchObject({ entries: 3, evictions: 1, hits: 2, misses: 1, bytes: 3 * (100 + OVERHEAD) });
    expect(cache.hitRate).toBeCloseTo(2 / 3);
  });

  test("a slot from set() finds its block by touch() until the block is evicted, replaced or its file dropped", () => {
    const cache = new BlockCache(2 * (100 + OVERHEAD));
    const a = block(100, 1);
    const slotA = cache.set("1:0", a)!;
    const slotB = cache.set("1:100", block(100))!;
    expect(cache.touch(slotA)).toBe(a); // refreshes a: b is now the least recently used
    cache.set("1:200", block(100));
    expect(cache.touch(slotB)).toBeUndefined(); // evicted
    expect(cache.touch(slotA)).toBe(a);
    const replaced = cache.set("1:0", block(100, 2))!;
    expect(cache.touch(slotA)).toBeUndefined(); // replaced under its key
    expect(cache.touch(replaced)![0]).toBe(2);
    cache.evictFile(1);
    expect(cache.touch(replaced)).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, hits: 3, misses: 0 }); // a stale slot is no miss: the reader looks the key up next
    expect(cache.set("1:0", block(10_000))).toBeUndefined(); // too big to cache: no slot
  });

  test("a block larger than the capacity is not cached and drops the older block under its key", () => {
    const cache = new BlockCache(1000 + OVERHEAD);
    cache.set("3:0", block(10));
    cache.set("3:4096", block(10));
    cache.set("3:0", block(1001));
    expect(cache.get("3:0")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 1, evictions: 0, bytes: 10 + OVERHEAD });
    cache.set("3:0", block(1000));
    expect(cache.stats()).toMatchObject({ entries: 1, evictions: 1, bytes: 1000 + OVERHEAD });
  });

  test("evictFile drops exactly that file's blocks, wherever they sit in recency order", () => {
    const cache = new BlockCache(1 << 20);
    for (let i = 0; i < 5; i++) {
      cache.set(blockCacheKey(7, i), block(1));
      cache.set(blockCacheKey(77, i), block(1));
      cache.set(blockCacheKey(17, i), block(1));
    }
    cache.get(blockCacheKey(7, 2));
    expect(cache.evictFile(7)).toBe(5);
    expect(cache.evictFile(7)).toBe(0);
    expect(cache.stats().entries).toBe(10);
    for (let i = 0; i < 5; i++) {
      expect(cache.get(blockCacheKey(7, i))).toBeUndefined();
      expect(cache.get(blockCacheKey(77, i))).toBeDefined();
      expect(cache.get(blockCacheKey(17, i))).toBeDefined();
    }
  });

  test("bad capacities and keys not made by blockCacheKey are InvalidArgumentError", () => {
    for (const cap of [-1, 1.5, Number.NaN]) expect(() => new BlockCache(cap)).toThrow(InvalidArgumentError);
    const cache = new BlockCache(1 << 20);
    for (const key of ["", "abc", ":0", "x:0", "-1:0", "1.5:0"]) expect(() => cache.set(key, block(1))).toThrow(InvalidArgumentError);
    expect(cache.stats().entries).toBe(0);
  });

  test("a zero capacity caches nothing", () => {
    const cache = new BlockCache(0);
    cache.set("1:0", block(0));
    expect(cache.get("1:0")).toBeUndefined();
    expect(cache.stats()).toMatchObject({ entries: 0, bytes: 0, misses: 1 });
  });
});
