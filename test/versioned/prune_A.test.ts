/**
 * prune(policy) and the retention option: per key, heads, the newest N,
 * versions younger than T and whatever a merge of divergent heads needs
 * stay; the rest goes with their history entries; values go with their last
 * reference; the horizon is recorded and ingest skips history below it; a
 * crash at any FS call of a prune leaves a consistent store.
 */
import { describe, expect, test } from "vitest";
import { InvalidArgumentError, MemFileSystem, SeededRandom, VirtualClock, openDB, openStore, silentLog, type Store, type StoreOptions } from "../../src/index.ts";

const dec = new TextDecoder();

function opts(fs: MemFileSystem, clock: VirtualClock, extra: StoreOptions = {}): StoreOptions {
  return { fs, clock, log: silentLog(), random: new SeededRandom(3), ...extra };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

async function countNs(fs: MemFileSystem, ns: number): Promise<number> {
  const db = await openDB("/db", { fs, log: silentLog() });
  let n = 0;
  for await (const _ of db.iterate({ prefix: Uint8Array.of(ns), values: false })) n++;
  await db.close();
  return n;
}

describe("prune", () => {
  test("keeps the newest N and the heads, removes the rest with their values, records the horizon", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock();
    const s = await openStore("/db", opts(fs, clock));
    const versions = [];
    for (let i = 0; i < 10; i++) {
      clock.advance(1000);
      versions.push(await s.put("k", `value-${i}`));
    }
    await s.put("shared-a", "same");
    await s.put("shared-b", "same");
    const r = await s.prune({ versions: 3 });
    expect(r.versionsRemoved).toBe(7);
    expect(r.valuesRemoved).toBe(7);
    expect((await all(s.history("k"))).map((v) => v.id)).toEqual(versions.slice(7).reverse().map((v) => v.id));
    expect(dec.decode(await s.get("k"))).toBe("value-9");
    expect(await s.version(versions[0]!.id)).toBeUndefined();
    expect(await s.horizon("k")).toBe(versions[6]!.hlc);
    expect(await s.horizon("shared-a")).toBeUndefined();
    // 3 values of k, 1 shared by two keys.
    await s.close();
    expect(await countNs(fs, 0x04)).toBe(4);
    // Pruned history offered again is skipped, not held.
    const s2 = await openStore("/db", opts(fs, clock));
    expect(dec.decode(await s2.get("shared-b"))).toBe("same");
    await s2.close();
  });

  test("age: versions younger than ageMs stay; a tombstone head stays; shared values stay while used", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(1_000_000_000_000);
    const s = await openStore("/db", opts(fs, clock, { retention: { ageMs: 5_000 } }));
    await s.put("k", "shared");
    clock.advance(10_000);
    await s.put("other", "shared");
    await s.put("k", "new");
    clock.advance(1_000);
    await s.delete("k");
    const r = await s.prune();
    expect(r.versionsRemoved).toBe(1);
    expect(r.valuesRemoved).toBe(0);
    expect(await s.get("k")).toBeUndefined();
    expect((await all(s.history("k"))).length).toBe(2);
    expect(dec.decode(await s.get("other"))).toBe("shared");
    await s.close();
  });

  test("divergent heads keep their merge base and everything after it", async () => {
    const clock = new VirtualClock();
    const a = await openStore("/a", opts(new MemFileSystem(), clock, { nodeId: "a" }));
    const b = await openStore("/b", opts(new MemFileSystem(), clock, { nodeId: "b" }));
    for (let i = 0; i < 5; i++) {
      clock.advance(1);
      await a.put("k", `old-${i}`);
    }
    await b.applyVersions(await all(a.records()));
    const base = (await a.heads("k"))[0]!;
    clock.advance(1);
    await a.put("k", "a-1");
    await a.put("k", "a-2");
    await b.put("k", "b-1");
    await a.applyVersions(await all(b.records()));
    expect((await a.heads("k")).length).toBe(2);
    const r = await a.prune({ versions: 1 });
    // The 4 versions older than the base go; the base, a-1, a-2 and b-1 stay.
    expect(r.versionsRemoved).toBe(4);
    const kept = (await all(a.history("k"))).map((v) => v.id);
    expect(kept).toContain(base.id);
    expect(kept.length).toBe(4);
    await a.close();
    await b.close();
  });

  test("ingest skips history at or below the horizon instead of holding it forever", async () => {
    const clock = new VirtualClock();
    const a = await openStore("/a", opts(new MemFileSystem(), clock, { nodeId: "a" }));
    for (let i = 0; i < 4; i++) {
      clock.advance(1);
      await a.put("k", `v${i}`);
    }
    const everything = await all(a.records());
    await a.prune({ versions: 1 });
    const r = await a.applyVersions(everything);
    expect(r).toEqual({ linked: 0, pruned: 3, held: 0, duplicates: 1 });
    expect((await all(a.history("k"))).length).toBe(1);
    await a.close();
  });

  test("a crash at any FS call of a prune (and of the close that flushes it) leaves every key pruned or not, readable and consistent", async () => {
    const base = new MemFileSystem();
    const clock = new VirtualClock();
    const s0 = await openStore("/db", opts(base, clock));
    for (let i = 0; i < 12; i++) {
      clock.advance(1);
      await s0.put(`k${i % 3}`, `v${i}`);
    }
    await s0.close();
    const probe = base.clone();
    const sp = await openStore("/db", opts(probe, clock));
    // The window: the prune, then the close that flushes its batches to a table (memtable, table, manifest, logs).
    const start = probe.callCount;
    await sp.prune({ versions: 1 });
    await sp.close();
    const calls = probe.callCount - start;
    expect(calls).toBeGreaterThan(20);
    for (let n = 1; n <= calls; n++) {
      const fs = base.clone();
      const s = await openStore("/db", opts(fs, clock));
      fs.armCrash(n, n);
      await s.prune({ versions: 1 }).catch(() => undefined);
      await s.close().catch(() => undefined);
      expect(fs.isCrashed, `the crash at call ${n} happened`).toBe(true);
      const survivor = fs.lastCrash() ?? fs.crash(n);
      const s2 = await openStore("/db", opts(survivor, clock));
      for (let k = 0; k < 3; k++) {
        const history = await all(s2.history(`k${k}`));
        // Either pruned (1 left) or not (4 left); never in between, never a dangling head.
        expect([1, 4], `crash at ${n}`).toContain(history.length);
        expect(dec.decode(await s2.get(`k${k}`))).toBe(`v${9 + k}`);
        expect((await s2.heads(`k${k}`)).map((v) => v.id)).toEqual([history[0]!.id]);
      }
      await s2.prune({ versions: 1 });
      for (let k = 0; k < 3; k++) expect((await all(s2.history(`k${k}`))).length).toBe(1);
      await s2.close();
    }
  });

  test("policies are checked", async () => {
    const s: Store = await openStore("/db", opts(new MemFileSystem(), new VirtualClock()));
    await expect(s.prune()).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.prune({ versions: 0 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.prune({ ageMs: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await s.close();
    await expect(openStore("/x", opts(new MemFileSystem(), new VirtualClock(), { retention: {} }))).rejects.toBeInstanceOf(InvalidArgumentError);
  });
});
