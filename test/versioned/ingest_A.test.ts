/**
 * Ingest (applyVersions): several stores write on their own and exchange
 * records in random orders, with duplicates. Every record is verified
 * before anything is written; the result does not depend on the order;
 * heads are exactly the versions without children; held records link when
 * their parents come; the DAG stays acyclic; histories agree once the same
 * records arrived everywhere.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ClockDriftError, CorruptionError, InvalidArgumentError, MemFileSystem, SeededRandom, VirtualClock, openStore, silentLog, type IngestItem, type Store, type Version } from "../../src/index.ts";
import { sha256Hex } from "../../src/platform/sha256.ts";
import { decodeVersionRecord } from "../../src/versioned/record.ts";
import { parseHlc } from "../../src/versioned/hlc.ts";

const dec = new TextDecoder();

async function open(name: string, clock: VirtualClock): Promise<Store> {
  return openStore(`/${name}`, { fs: new MemFileSystem(), clock, log: silentLog(), random: new SeededRandom(name.length), nodeId: name });
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function shuffle<T>(xs: T[], rnd: SeededRandom): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Everything a store says about `keys`: heads and histories (ids), for comparing stores. */
async function state(s: Store, keys: string[]): Promise<unknown> {
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    out[k] = { heads: (await s.heads(k)).map((v) => v.id).sort(), history: (await all(s.history(k))).map((v) => v.id), value: await s.get(k) };
  }
  return out;
}

/** Heads must be exactly the versions of the key that no other version names as a parent. */
async function checkHeadsAndDag(s: Store, key: string): Promise<void> {
  const history = await all(s.history(key));
  const ids = new Set(history.map((v) => v.id));
  const parented = new Set(history.flatMap((v) => v.parents));
  const childless = history.filter((v) => !parented.has(v.id)).map((v) => v.id).sort();
  expect((await s.heads(key)).map((v) => v.id).sort()).toEqual(childless);
  // Newest first is topological: every parent comes later in the history; so there is no cycle.
  const seen = new Set<string>();
  for (const v of history) {
    for (const p of v.parents) if (ids.has(p)) expect(seen.has(p)).toBe(false);
    seen.add(v.id);
  }
}

describe("applyVersions", () => {
  test("stores writing alone, then exchanging shuffled records with duplicates, converge; heads are the childless versions; getAt agrees with a model", async () => {
    const keys = ["a", "b", "c"];
    let held = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ store: fc.nat(2), key: fc.nat(2), del: fc.boolean(), sync: fc.nat(6) }), { minLength: 1, maxLength: 40, size: "max" }),
        fc.integer({ min: 1, max: 1_000_000 }),
        async (ops, seed) => {
          const rnd = new SeededRandom(seed);
          const clock = new VirtualClock();
          const stores = [await open("n0", clock), await open("n1", clock), await open("n2", clock)];
          let step = 0;
          const made: Array<{ v: Version; value?: string }> = [];
          for (const o of ops) {
            // Often the same millisecond for several stores: equal timestamps across nodes, ties broken by id.
            if (o.sync % 2 === 0) clock.advance(1);
            const s = stores[o.store]!;
            if (o.del) made.push({ v: await s.delete(keys[o.key]!) });
            else {
              const value = `${o.store}:${step++}`;
              made.push({ v: await s.put(keys[o.key]!, value), value });
            }
            if (o.sync === 0) {
              // A partial exchange now and then: one store's records into another, shuffled.
              const from = stores[(o.store + 1) % 3]!;
              await s.applyVersions(shuffle(await all(from.records()), rnd));
            }
          }
          // Everything everywhere, shuffled, each record twice, in small batches (parents often arrive after children).
          const everything: IngestItem[] = [];
          for (const s of stores) everything.push(...(await all(s.records())));
          for (const s of stores) {
            const items = shuffle([...everything, ...everything], rnd);
            for (let i = 0; i < items.length; i += 3) held += (await s.applyVersions(items.slice(i, i + 3))).held;
          }
          const first = await state(stores[0]!, keys);
          for (const s of stores.slice(1)) expect(await state(s, keys)).toEqual(first);
          for (const s of stores) for (const k of keys) await checkHeadsAndDag(s, k);
          // Every id equals the hash of its record bytes.
          for (const item of await all(stores[0]!.records())) {
            const v = await stores[0]!.version(sha256Hex(item.record));
            expect(v).toBeDefined();
            expect(decodeVersionRecord(item.record).key).toEqual(v!.version.key);
          }
          // getAt agrees with a model: at time T, the version of greatest (HLC, id) whose HLC is at or before T.
          const model = (key: string, t: number): string | undefined => { // A
            let best: { v: Version; value?: string } | undefined;
            for (const m of made) {
              if (dec.decode(m.v.key) !== key || parseHlc(m.v.hlc).ms > t) continue;
              if (best === undefined || m.v.hlc > best.v.hlc || (m.v.hlc === best.v.hlc && m.v.id > best.v.id)) best = m;
            }
            return best?.value;
          };
          const s0 = stores[rnd.int(3)]!;
          const times = [...new Set(made.map((m) => parseHlc(m.v.hlc).ms))]; // A
          for (const k of keys) {
            for (const t of [Math.min(...times) - 1, ...times]) {
              const got = await s0.getAt(k, { time: t });
              expect(got === undefined ? undefined : dec.decode(got)).toBe(model(k, t));
            }
          }
          for (const m of made) {
            const got = await s0.getAt(dec.decode(m.v.key), { version: m.v.id });
            expect(got === undefined ? undefined : dec.decode(got)).toBe(m.value);
          }
          for (const s of stores) await s.close();
        },
      ),
      { numRuns: 25 },
    );
    // The shuffles really delivered children before their parents.
    expect(held).toBeGreaterThan(20);
  });

  test("a child that arrives before its parent is held, then linked when the parent comes (also across a reopen)", async () => {
    const clock = new VirtualClock();
    const a = await open("a", clock);
    const v1 = await a.put("k", "1");
    clock.advance(5);
    const v2 = await a.put("k", "2");
    clock.advance(5);
    const v3 = await a.put("k", "3");
    const items = await all(a.records());
    const byId = new Map(items.map((i) => [sha256Hex(i.record), i]));
    const fs = new MemFileSystem();
    let b = await openStore("/b", { fs, clock, log: silentLog(), nodeId: "b" });
    const r1 = await b.applyVersions([byId.get(v3.id)!, byId.get(v2.id)!]);
    expect(r1).toEqual({ linked: 0, pruned: 0, held: 2, duplicates: 0 });
    expect(await b.heads("k")).toEqual([]);
    expect(await b.get("k")).toBeUndefined();
    await b.close();
    b = await openStore("/b", { fs, clock, log: silentLog() });
    const r2 = await b.applyVersions([byId.get(v1.id)!]);
    expect(r2.linked).toBe(3);
    expect(dec.decode(await b.get("k"))).toBe("3");
    expect((await all(b.history("k"))).map((v: Version) => v.id)).toEqual([v3.id, v2.id, v1.id]);
    expect(await b.applyVersions(items)).toEqual({ linked: 0, pruned: 0, held: 0, duplicates: 3 });
    await a.close();
    await b.close();
  });

  test("divergent heads: concurrent versions of one key both stay heads; get picks the greatest (hlc, id)", async () => {
    const clock = new VirtualClock();
    const a = await open("a", clock);
    const b = await open("b", clock);
    const base = await a.put("k", "base");
    await b.applyVersions(await all(a.records()));
    clock.advance(1);
    const va = await a.put("k", "from-a");
    const vb = await b.put("k", "from-b");
    expect(va.parents).toEqual([base.id]);
    expect(vb.parents).toEqual([base.id]);
    await a.applyVersions(await all(b.records()));
    const heads = await a.heads("k");
    expect(heads.map((v) => v.id).sort()).toEqual([va.id, vb.id].sort());
    const e = await a.entry("k");
    expect(e!.conflicts.length).toBe(1);
    expect(e!.version.id).toBe(heads[0]!.id);
    expect(heads[0]!.hlc >= heads[1]!.hlc).toBe(true);
    // The next local put supersedes both heads.
    const merged = await a.put("k", "both");
    expect(merged.parents.sort()).toEqual([va.id, vb.id].sort());
    expect((await a.heads("k")).map((v) => v.id)).toEqual([merged.id]);
    await a.close();
    await b.close();
  });

  test("bad records are refused before anything is written: a wrong value, a damaged record, a clock too far ahead", async () => {
    const clock = new VirtualClock();
    const a = await open("a", clock);
    await a.put("k", "value");
    const [item] = await all(a.records());
    const b = await open("b", clock);
    await expect(b.applyVersions([{ record: item!.record, value: new TextEncoder().encode("other") }])).rejects.toBeInstanceOf(CorruptionError);
    await expect(b.applyVersions([{ record: item!.record }])).rejects.toBeInstanceOf(InvalidArgumentError);
    const damaged = item!.record.slice();
    damaged[damaged.length - 1]! ^= 1;
    // A damaged record is another record: with the id the sender claims, the damage is caught.
    await expect(b.applyVersions([{ record: damaged, value: item!.value!, id: item!.id! }])).rejects.toBeInstanceOf(CorruptionError);
    // A store whose clock runs 10 minutes ahead writes a record b must refuse (default drift bound 60 s).
    const fast = new VirtualClock(clock.nowMs() + 600_000);
    const c = await open("c", fast);
    await c.put("k", "from the future");
    const [future] = await all(c.records());
    await expect(b.applyVersions([item!, future!])).rejects.toBeInstanceOf(ClockDriftError);
    // Nothing of the refused calls was written.
    expect(await b.heads("k")).toEqual([]);
    expect(await b.applyVersions([item!])).toEqual({ linked: 1, pruned: 0, held: 0, duplicates: 0 });
    for (const s of [a, b, c]) await s.close();
  });
});

describe("applyVersions under power loss", () => {
  test("a crash at any FS call of an ingest (and of the close that flushes it) leaves all of it or none; ingest again completes", async () => {
    const clock = new VirtualClock();
    const a = await open("src", clock);
    for (let i = 0; i < 9; i++) {
      clock.advance(1);
      if (i % 4 === 3) await a.delete(`k${i % 3}`);
      else await a.put(`k${i % 3}`, `v${i}`);
    }
    const items = await all(a.records());
    await a.close();
    // Children first, so part of the batch is held and then released within the call.
    const ordered = [...items].reverse();
    const base = new MemFileSystem();
    const b0 = await openStore("/b", { fs: base, clock, log: silentLog(), nodeId: "b" });
    await b0.close();
    const probe = base.clone();
    const bp = await openStore("/b", { fs: probe, clock, log: silentLog() });
    const start = probe.callCount;
    expect((await bp.applyVersions(ordered)).linked).toBe(9);
    await bp.close();
    const calls = probe.callCount - start;
    expect(calls).toBeGreaterThan(20);
    const want = async (s: Store): Promise<unknown> => state(s, ["k0", "k1", "k2"]);
    const complete = await (async () => { // the state after a full ingest
      const fs = base.clone();
      const s = await openStore("/b", { fs, clock, log: silentLog() });
      await s.applyVersions(ordered);
      const st = await want(s);
      await s.close();
      return st;
    })();
    for (let n = 1; n <= calls; n++) {
      const fs = base.clone();
      const s = await openStore("/b", { fs, clock, log: silentLog() });
      fs.armCrash(n, n);
      await s.applyVersions(ordered).catch(() => undefined);
      await s.close().catch(() => undefined);
      const survivor = fs.lastCrash() ?? fs.crash(n);
      const s2 = await openStore("/b", { fs: survivor, clock, log: silentLog() });
      const heads = await Promise.all(["k0", "k1", "k2"].map((k) => s2.heads(k)));
      const linked = heads.every((h) => h.length > 0);
      // All or nothing: every key has its history, or none has.
      expect(linked || heads.every((h) => h.length === 0), `crash at ${n}`).toBe(true);
      for (const k of ["k0", "k1", "k2"]) await checkHeadsAndDag(s2, k);
      await s2.applyVersions(ordered);
      expect(await want(s2), `crash at ${n}, then ingest again`).toEqual(complete);
      await s2.close();
    }
  });
});
