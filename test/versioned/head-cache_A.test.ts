/**
 * The store's read cache (head-cache.ts): a store with it answers every
 * read exactly as a store without it, under puts, deletes, divergent heads
 * from ingest, prune and reopen, at any cache size; its memory comes out of
 * the engine's block cache and budget; what it hands out cannot be changed
 * through a returned Version.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { InvalidArgumentError, MemFileSystem, SeededRandom, VirtualClock, openStore, silentLog, type Store, type StoreOptions } from "../../src/index.ts";
import { HeadCache, packHeads, unpackHeads } from "../../src/versioned/head-cache.ts";

const KEYS = ["a", "b", "c", "d\u0000e"];

type Op =
  | { kind: "put"; key: number; value: number }
  | { kind: "delete"; key: number }
  | { kind: "remote"; key: number; value: number }
  | { kind: "sync" }
  | { kind: "prune"; versions: number }
  | { kind: "reopen" }
  | { kind: "read"; key: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("put" as const), key: fc.nat(KEYS.length - 1), value: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), key: fc.nat(KEYS.length - 1) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("remote" as const), key: fc.nat(KEYS.length - 1), value: fc.nat(5) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "sync" as const }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("prune" as const), versions: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: "reopen" as const }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("read" as const), key: fc.nat(KEYS.length - 1) }) },
);

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Everything a point read says about `key`, as plain data. */
async function reads(s: Store, key: string): Promise<unknown> {
  const e = await s.entry(key);
  return {
    get: await s.get(key),
    entry: e === undefined ? undefined : { id: e.version.id, value: e.value, conflicts: e.conflicts.map((c) => c.id) }, // A
    heads: (await s.heads(key)).map((v) => v.id), // A
  };
}

describe("store read cache", () => {
  test("a store with the cache (large or tiny) reads exactly like one without, through puts, ingest, prune and reopen", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 60 }), fc.constantFrom(600, 1 << 20), async (ops, cacheBytes) => {
        const clock = new VirtualClock(1_700_000_000_000);
        const remote = await openStore("/r", { fs: new MemFileSystem(), clock, log: silentLog(), nodeId: "remote", random: new SeededRandom(1) });
        const fss = [new MemFileSystem(), new MemFileSystem()];
        const opts = (i: number): StoreOptions => ({ fs: fss[i]!, clock, log: silentLog(), nodeId: "local", random: new SeededRandom(2), readCacheBytes: i === 0 ? 0 : cacheBytes }); // A
        const stores = [await openStore("/s", opts(0)), await openStore("/s", opts(1))];
        let sent = 0;
        for (const op of ops) {
          clock.advance(3);
          if (op.kind === "read") {
            expect(await reads(stores[1]!, KEYS[op.key]!)).toEqual(await reads(stores[0]!, KEYS[op.key]!));
            continue;
          }
          if (op.kind === "remote") {
            await remote.put(KEYS[op.key]!, `remote ${op.value}`);
            continue;
          }
          if (op.kind === "sync") {
            const items = await all(remote.records());
            for (const s of stores) await s.applyVersions(items.slice(sent));
            sent = items.length;
            continue;
          }
          for (let i = 0; i < 2; i++) {
            const s = stores[i]!;
            if (op.kind === "put") await s.put(KEYS[op.key]!, `local ${op.value}`);
            else if (op.kind === "delete") await s.delete(KEYS[op.key]!);
            else if (op.kind === "prune") await s.prune({ versions: op.versions });
            else {
              await s.close();
              stores[i] = await openStore("/s", opts(i));
            }
          }
        }
        for (const k of KEYS) expect(await reads(stores[1]!, k)).toEqual(await reads(stores[0]!, k));
        expect((await stores[1]!.verify()).ok).toBe(true);
        await Promise.all([...stores, remote].map((s) => s.close())); // A
      }),
      { numRuns: 25, size: "max" },
    );
  });

  test("puts made together and reads between them: every read equals the uncached store's at that moment", async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const cached = await openStore("/c", { fs: new MemFileSystem(), clock, log: silentLog(), nodeId: "n", readCacheBytes: 1 << 20 });
    const plain = await openStore("/p", { fs: new MemFileSystem(), clock, log: silentLog(), nodeId: "n", readCacheBytes: 0 });
    for (let round = 0; round < 20; round++) {
      const writes: Array<Promise<unknown>> = [];
      for (const s of [cached, plain]) for (let i = 0; i < 8; i++) writes.push(s.put(KEYS[(round + i) % KEYS.length]!, `r${round} i${i}`));
      // Read while the groups are in flight, at several microtask points.
      for (let tick = 0; tick < 6; tick++) {
        await Promise.resolve();
        for (const k of KEYS) await cached.get(k);
      }
      await Promise.all(writes);
      for (const k of KEYS) expect(await reads(cached, k)).toEqual(await reads(plain, k));
    }
    await Promise.all([cached.close(), plain.close()]);
  });

  test("the returned Version's key is the caller's own: changing it does not change later reads", async () => {
    const s = await openStore("/s", { fs: new MemFileSystem(), clock: new VirtualClock(), log: silentLog(), nodeId: "n" });
    await s.put("key", "v");
    const e = await s.entry("key");
    e!.version.key[0] = 0x7a;
    (await s.heads("key"))[0]!.key[1] = 0x7a;
    expect(new TextDecoder().decode((await s.entry("key"))!.version.key)).toBe("key");
    await s.close();
  });

  test("readCacheBytes is checked, and its bytes come out of the engine's block cache and budget", async () => {
    const fs = new MemFileSystem();
    for (const bad of [-1, 1.5, 256 * 1024 * 1024]) {
      await expect(openStore("/s", { fs, log: silentLog(), readCacheBytes: bad })).rejects.toBeInstanceOf(InvalidArgumentError);
    }
    for (const [profile, cache, budget] of [["server", 256, 1024], ["mobile", 8, 48], ["background", 2, 16]] as const) {
      const s = await openStore(`/${profile}`, { fs, log: silentLog(), profile });
      const memory = (s as unknown as { db: { stats(): { memory: { budgetBytes: number } } } }).db.stats().memory;
      expect(memory.budgetBytes).toBe((budget - cache / 4) * 1024 * 1024);
      await s.close();
    }
  });

  test("HeadCache evicts past its bytes (second chance for entries read), and keeps keys being written out", () => {
    const c = new HeadCache(2000);
    const heads = packHeads([{ id: new Uint8Array(32).fill(1), bytes: Uint8Array.of(1, 2, 3) }, { id: new Uint8Array(32).fill(2), bytes: new Uint8Array(0) }]);
    expect(unpackHeads(heads).map((h) => [h.id[0], [...h.bytes]])).toEqual([[1, [1, 2, 3]], [2, []]]); // A
    expect(unpackHeads(heads, 1).length).toBe(1);
    for (let i = 0; i < 10; i++) c.set(`k${i}`, heads);
    expect(c.usedBytes).toBeLessThanOrEqual(2000);
    expect(c.entries).toBeGreaterThan(0);
    expect(c.get("k0")).toBeUndefined();
    expect(c.get("k9")).toBe(heads);
    c.beginWrite(["k9"]);
    expect(c.get("k9")).toBeUndefined();
    c.set("k9", heads);
    expect(c.get("k9")).toBeUndefined();
    c.endWrite(["k9"]);
    c.set("k9", heads);
    expect(c.get("k9")).toBe(heads);
    expect(new HeadCache(0).entries).toBe(0);
    // Second chance: an entry read since eviction last passed it outlives older unread ones.
    const perEntry = new HeadCache(1 << 20);
    perEntry.set("x", heads);
    const three = new HeadCache(perEntry.usedBytes * 3);
    for (const k of ["a", "b", "c"]) three.set(k, heads);
    expect(three.entries).toBe(3);
    three.get("a");
    three.set("d", heads);
    expect([three.get("a"), three.get("b"), three.get("c"), three.get("d")].map((h) => h !== undefined)).toEqual([true, false, true, true]); // A
    expect(three.usedBytes).toBe(perEntry.usedBytes * 3);
  });
});
