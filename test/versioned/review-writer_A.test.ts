/**
 * Adversarial review of the write lane (writer.ts), the synchronous point
 * reads (store.ts) and the release of held records whose parent was pruned
 * (ingest.ts), commit bc2d721. Probes marked `// FIXED:` found a bug (fixed
 * in the commit after); every probe stays as a regression test.
 */
import { describe, expect, test } from "vitest";
import { expectCleanSurvivor } from "../support/store-checks.ts";
import {
  ClosedError, CorruptionError, FaultFileSystem, IOError, MemFileSystem, SeededRandom, VirtualClock, openDB, openStore, silentLog,
  type DB, type IngestItem, type Store, type StoreOptions, type Version,
} from "../../src/index.ts";
import { sha256, sha256Hex } from "../../src/platform/sha256.ts";
import { encodeVersionRecord, RECORD_MAX_PARENTS } from "../../src/versioned/record.ts";
import { GROUP_MAX_OPS } from "../../src/versioned/writer.ts";
import { concatKey, NS_VALUE, NS_VALUE_REFS } from "../../src/versioned/keyspace.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();
const T0 = 1_700_000_000_000;

async function all<T>(it: AsyncIterable<T>): Promise<T[]> { // A
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function options(fs: MemFileSystem | FaultFileSystem, clock: VirtualClock, nodeId = "r", extra: Partial<StoreOptions> = {}): StoreOptions { // A
  return { fs, clock, log: silentLog(), random: new SeededRandom(5), nodeId, ...extra };
}

/** The engine under a store (test-only peek at a private field, for batch counts). */
function engineOf(s: Store): DB { // A
  return (s as unknown as { db: DB }).db;
}

/** `n` root versions of `key` made "elsewhere" (distinct nodes, no parents), as ingest items. */
function roots(key: string, n: number, ms = 1_600_000_000_000): IngestItem[] { // A
  const items: IngestItem[] = [];
  for (let i = 0; i < n; i++) {
    const value = enc.encode(`root ${i}`);
    const record = encodeVersionRecord({
      key: enc.encode(key), parents: [], hlc: { ms, counter: i }, node: `peer-${i}`, deleted: false, valueHash: sha256(value), valueSize: value.length,
    });
    items.push({ record, value });
  }
  return items;
}

/** Store "a" with v1..v5 of k pruned down to v5, and the ingest items of v1..v5 plus versions other stores built on v2. */
async function prunedSetup(clock: VirtualClock, fsA = new MemFileSystem()): Promise<{ a: Store; fsA: MemFileSystem; byId: Map<string, IngestItem>; v: Version[]; child: Version; x: Version; y: Version; m: Version }> { // A
  const a = await openStore("/a", options(fsA, clock, "a"));
  const v: Version[] = [];
  for (let i = 1; i <= 5; i++) {
    v.push(await a.put("k", `a${i}`));
    clock.advance(10);
  }
  const byId = new Map((await all(a.records())).map((i) => [i.id!, i])); // A
  const base = [byId.get(v[0]!.id)!, byId.get(v[1]!.id)!];
  clock.advance(100);
  // b: child of v2. c: x (child of v2). d: y (child of v2), then m merges x and y.
  const b = await openStore("/b", options(new MemFileSystem(), clock, "b"));
  await b.applyVersions(base);
  const child = await b.put("k", "b-child");
  const c = await openStore("/c", options(new MemFileSystem(), clock, "c"));
  await c.applyVersions(base);
  const x = await c.put("k", "c-x");
  const d = await openStore("/d", options(new MemFileSystem(), clock, "d"));
  await d.applyVersions(base);
  const y = await d.put("k", "d-y");
  await d.applyVersions(await all(c.records()));
  clock.advance(1);
  const m = await d.put("k", "d-merge");
  expect(m.parents).toEqual([x.id, y.id].sort());
  for (const s of [b, c, d]) for (const i of await all(s.records())) byId.set(i.id!, i);
  await Promise.all([b.close(), c.close(), d.close()]);
  expect((await a.prune({ versions: 1 })).versionsRemoved).toBe(4);
  return { a, fsA, byId, v, child, x, y, m };
}

describe("ordering of the lane", () => {
  test("a put made after applyVersions (not awaited) is written after the ingest and chains onto the ingested version", async () => {
    // FIXED: writer.write() joins the *open* group even when an exclusive task
    // (applyVersions, prune) was queued after that group was opened. The put
    // below is called after applyVersions, but it joins the group of the
    // earlier put("other") and is committed before the ingest runs: it gets
    // no parent (the remote version arrives later and becomes a second head),
    // and since the clock had not observed the remote timestamp yet, the
    // remote version may even win get(). Before bc2d721 every store write ran
    // in call order (one serial chain). Fix: exclusive() must close the open
    // group (`this.open = undefined`) so later puts form a new group behind
    // the task.
    const clock = new VirtualClock(T0);
    const remote = await openStore("/remote", options(new MemFileSystem(), clock, "remote"));
    clock.advance(50);
    const rv = await remote.put("k", "from-remote");
    const items = await all(remote.records());
    await remote.close();
    const s = await openStore("/s", options(new MemFileSystem(), new VirtualClock(T0), "local"));
    const other = s.put("other", "x");
    const ingested = s.applyVersions(items);
    const mine = s.put("k", "mine");
    const [, report, v] = await Promise.all([other, ingested, mine]);
    expect(report.linked).toBe(1);
    expect(v.parents).toEqual([rv.id]);
    expect((await s.heads("k")).map((h) => h.id)).toEqual([v.id]);
    expect(dec.decode(await s.get("k"))).toBe("mine");
    await s.close();
  });

  test("a put made after prune (not awaited) is not pruned by it: prune runs on the history as it was when called", async () => {
    // FIXED: same cause as above. prune({ versions: 1 }) is called while v3 is
    // the newest version, so it should keep v3; the put of v4, called after
    // prune, joins the group opened by put("other") and lands first, so
    // prune keeps v4 only and removes v3 as well.
    const s = await openStore("/s", options(new MemFileSystem(), new VirtualClock(T0), "local"));
    const v: Version[] = [];
    for (let i = 1; i <= 3; i++) v.push(await s.put("k", `v${i}`));
    const other = s.put("other", "x");
    const pruned = s.prune({ versions: 1 });
    const v4 = s.put("k", "v4");
    const [, report, last] = await Promise.all([other, pruned, v4]);
    expect(report.versionsRemoved).toBe(2);
    expect((await all(s.history("k"))).map((x) => x.id)).toEqual([last.id, v[2]!.id]);
    expect((await s.verify()).ok).toBe(true);
    await s.close();
  });

  test("puts, deletes, ingests and prunes fired together without awaiting: every call settles, the store verifies, heads are the childless versions", async () => {
    const clock = new VirtualClock(T0);
    const peer = await openStore("/p", options(new MemFileSystem(), clock, "peer"));
    for (let i = 0; i < 20; i++) await peer.put(`k${i % 4}`, `peer-${i}`);
    const peerItems = await all(peer.records());
    await peer.close();
    const fs = new MemFileSystem();
    let s = await openStore("/s", options(fs, clock, "local", { memtableBytes: 4096, valueThreshold: 48 }));
    const calls: Array<Promise<unknown>> = [];
    const rnd = new SeededRandom(17);
    for (let i = 0; i < 400; i++) {
      const key = `k${rnd.int(5)}`;
      const r = rnd.int(40);
      if (r === 0) calls.push(s.applyVersions(peerItems.filter((_, j) => j % 3 === i % 3))); // A
      else if (r === 1) calls.push(s.prune({ versions: 2 }));
      else if (r < 6) calls.push(s.delete(key));
      else calls.push(s.put(key, `local-${i}-`.repeat(1 + (i % 9))));
      if (i % 50 === 0) clock.advance(3);
    }
    const settled = await Promise.allSettled(calls);
    expect(settled.filter((r) => r.status === "rejected")).toEqual([]);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
    s = await openStore("/s", options(fs, clock, "local"));
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });
});

describe("synchronous point reads", () => {
  test("reads made at every microtask while groups commit (value-log values, tiny memtable, sync on) see each group all or nothing, across keys", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    const s = await openStore("/s", options(fs, clock, "reader", { sync: true, memtableBytes: 4096, valueThreshold: 32 }));
    const keys = ["a", "b", "c\u0000", "d"];
    const valueOf = new Map<string, string>();
    const winners = async (): Promise<string[]> => { // A
      // Every entry() body runs in this turn: one moment for all keys.
      const es = await Promise.all(keys.map((k) => s.entry(k))); // A
      return es.map((e) => { // A
        if (e === undefined) return "-";
        expect(e.conflicts).toEqual([]);
        // Checked after the group settles (its ids are known then).
        return `${e.version.id}:${e.value === undefined ? "<tomb>" : dec.decode(e.value)}`;
      });
    };
    const rnd = new SeededRandom(23);
    let observed = 0;
    let midway = 0;
    for (let round = 0; round < 40; round++) {
      const before = (await winners()).join("|");
      const ps: Array<Promise<Version>> = [];
      const vals: Array<string | undefined> = [];
      for (let i = 0; i < 6; i++) {
        const key = keys[rnd.int(keys.length)]!;
        const del = rnd.int(6) === 0;
        const value = `r${round}-${i}-`.repeat(3 + rnd.int(30));
        vals.push(del ? undefined : value);
        ps.push(del ? s.delete(key) : s.put(key, value));
      }
      let done = false;
      const group = Promise.all(ps).finally(() => (done = true)); // A
      const seen: Array<Promise<string[]>> = [];
      for (let step = 0; !done && step < 100_000; step++) {
        seen.push(winners());
        await Promise.resolve();
      }
      const versions = await group;
      versions.forEach((v, i) => valueOf.set(v.id, vals[i] ?? "<tomb>")); // A
      const after = (await winners()).join("|");
      for (const w of await Promise.all(seen)) {
        const joined = w.join("|");
        if (joined === before && before !== after) midway++;
        expect([before, after], `round ${round}`).toContain(joined);
        for (const x of w) if (x !== "-") expect(valueOf.get(x.slice(0, 64)), x).toBe(x.slice(65));
        observed++;
      }
      if (round % 10 === 9) clock.advance(1);
    }
    expect(observed).toBeGreaterThan(40);
    // Reads did land while groups were being written (sync on: between the WAL append and the memtable apply).
    expect(midway).toBeGreaterThan(40);
    expect(fs.list("/s").some((n) => n.endsWith(".sst"))).toBe(true);
    expect(fs.list("/s").some((n) => n.endsWith(".vlog"))).toBe(true);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });

  test("version() and heads() of a version being written: absent until its group is visible, then whole", async () => {
    const s = await openStore("/s", options(new MemFileSystem(), new VirtualClock(T0), "reader", { sync: true, valueThreshold: 16 }));
    const first = await s.put("k", "first value, long enough for the value log");
    const p = s.put("k", "second value, long enough for the value log");
    let done = false;
    const settled = p.finally(() => (done = true)); // A
    const states: Array<Promise<[string[], { version: Version; value?: Uint8Array } | undefined]>> = [];
    for (let step = 0; !done && step < 100_000; step++) {
      states.push(Promise.all([s.heads("k").then((h) => h.map((v) => v.id)), s.version(first.id)])); // A
      await Promise.resolve();
    }
    const second = await settled;
    for (const [heads, v1] of await Promise.all(states)) {
      expect([[first.id], [second.id]]).toContainEqual(heads);
      expect(dec.decode(v1!.value)).toBe("first value, long enough for the value log");
    }
    expect(dec.decode((await s.version(second.id))!.value)).toBe("second value, long enough for the value log");
    await s.close();
  });
});

describe("close and the lane", () => {
  test("close() while three groups are queued: every put settles fulfilled, later calls reject ClosedError, nothing is lost after reopen", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    let s = await openStore("/s", options(fs, clock));
    const calls: Array<{ key: string; value: string | undefined; p: Promise<Version> }> = [];
    const big = "B".repeat(1_500_000);
    for (let i = 0; i < GROUP_MAX_OPS * 2 + 50; i++) {
      const key = `k${i % 17}`;
      // A few 1.5 MB values: a group also closes at 4 MiB of values.
      const value = i % 5 === 4 ? undefined : i % 300 === 1 ? `${big}${i}` : `v${i}`;
      calls.push({ key, value, p: value === undefined ? s.delete(key) : s.put(key, value) });
    }
    const closing = s.close();
    const late = await Promise.allSettled([s.put("late", "x"), s.delete("late"), s.get("k0"), s.applyVersions([]), s.prune({ versions: 1 }), s.heads("k0")]);
    for (const r of late) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ClosedError);
    }
    await closing;
    const versions = await Promise.all(calls.map((c) => c.p)); // A
    s = await openStore("/s", options(fs, clock));
    for (let k = 0; k < 17; k++) {
      const key = `k${k}`;
      const mine = calls.map((c, i) => ({ ...c, v: versions[i]! })).filter((c) => c.key === key); // A
      mine.forEach((c, i) => expect(c.v.parents).toEqual(i === 0 ? [] : [mine[i - 1]!.v.id])); // A
      expect((await all(s.history(key))).length).toBe(mine.length);
      const got = await s.get(key);
      expect(got === undefined ? undefined : dec.decode(got)).toBe(mine[mine.length - 1]!.value);
    }
    expect(await s.get("late")).toBeUndefined();
    expect((await s.verify()).ok).toBe(true);
    await s.close();
  });

  test("a second close() resolves only once the store is closed (its lock released)", async () => {
    // FIXED (pre-existing in Store.close, made likelier by queued groups): close()
    // returns at once when `closed` is set, so a second close() issued while the
    // first waits for the lane and the engine resolves before the database is
    // closed; reopening right after it fails with LockedError (and a
    // process that exits then may drop the unflushed groups). Fix: keep the
    // closing promise (`this.closing ??= this.doClose(); return this.closing`).
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    const s = await openStore("/s", options(fs, clock));
    const puts = Array.from({ length: 10 }, (_, i) => s.put("k", `v${i}`)); // A
    const first = s.close();
    let reopened: Store | undefined;
    try {
      await s.close();
      reopened = await openStore("/s", options(fs, clock));
      expect(dec.decode(await reopened.get("k"))).toBe("v9");
    } finally {
      await first;
      await Promise.allSettled(puts);
      await reopened?.close();
    }
  });
});

describe("failures inside and across groups", () => {
  test("a failed engine write of the middle one of three queued groups fails only that group; the third chains onto the first", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const clock = new VirtualClock(T0);
    let s = await openStore("/s", options(fs, clock));
    await s.put("k0", "base");
    fs.inject({ op: "write", pathIncludes: ".log", nth: 2, error: "ENOSPC" });
    const n = GROUP_MAX_OPS * 2 + 10;
    const ps: Array<Promise<Version>> = [];
    for (let i = 0; i < n; i++) ps.push(s.put(`k${i % 7}`, `v${i}`));
    const r = await Promise.allSettled(ps);
    const status = r.map((x) => x.status); // A
    expect(status.slice(0, GROUP_MAX_OPS).every((x) => x === "fulfilled")).toBe(true); // A
    expect(status.slice(GROUP_MAX_OPS, 2 * GROUP_MAX_OPS).every((x) => x === "rejected")).toBe(true); // A
    expect(status.slice(2 * GROUP_MAX_OPS).every((x) => x === "fulfilled")).toBe(true); // A
    expect((r[GROUP_MAX_OPS] as PromiseRejectedResult).reason).toBeInstanceOf(IOError);
    const ok = (i: number): Version => (r[i] as PromiseFulfilledResult<Version>).value;
    // The third group's first put of each key chains onto the first group's last put of it.
    for (let key = 0; key < 7; key++) {
      const lastOfFirst = [...Array(GROUP_MAX_OPS).keys()].filter((i) => i % 7 === key).pop()!; // A
      const firstOfThird = [...Array(n).keys()].find((i) => i >= 2 * GROUP_MAX_OPS && i % 7 === key)!; // A
      expect(ok(firstOfThird).parents).toEqual([ok(lastOfFirst).id]);
    }
    const check = async (): Promise<void> => { // A
      for (let key = 0; key < 7; key++) {
        const lastOk = [...Array(n).keys()].filter((i) => i % 7 === key && status[i] === "fulfilled").pop()!; // A
        expect(dec.decode(await s.get(`k${key}`))).toBe(`v${lastOk}`);
        const expected = [...Array(n).keys()].filter((i) => i % 7 === key && status[i] === "fulfilled").length + (key === 0 ? 1 : 0); // A
        expect((await all(s.history(`k${key}`))).length).toBe(expected);
      }
      expect((await s.verify()).problems).toEqual([]);
    };
    await check();
    await s.close();
    s = await openStore("/s", options(mem, clock));
    await check();
    await s.close();
  });

  test("a put whose value has a malformed reference count fails alone; its value is not written and the key's next put chains onto the one before", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    const poison = enc.encode("poison");
    const db = await openDB("/s", { fs, log: silentLog() });
    await db.put(concatKey(Uint8Array.of(NS_VALUE_REFS), sha256(poison)), new Uint8Array(3));
    await db.close();
    const s = await openStore("/s", options(fs, clock));
    const r = await Promise.allSettled([s.put("k", "a"), s.put("k", poison), s.put("k", "b"), s.put("j", poison), s.delete("k")]);
    expect(r.map((x) => x.status)).toEqual(["fulfilled", "rejected", "fulfilled", "rejected", "fulfilled"]); // A
    expect((r[1] as PromiseRejectedResult).reason).toBeInstanceOf(CorruptionError);
    const [a, , b, , d] = r.map((x) => (x.status === "fulfilled" ? x.value : undefined)); // A
    expect(b!.parents).toEqual([a!.id]);
    expect(d!.parents).toEqual([b!.id]);
    expect(await s.heads("j")).toEqual([]);
    await s.close();
    const raw = await openDB("/s", { fs, log: silentLog() });
    expect(await raw.get(concatKey(Uint8Array.of(NS_VALUE), sha256(poison)))).toBeUndefined();
    await raw.close();
  });
});

describe("what a put takes from its caller", () => {
  test("the key and value bytes are taken when put() is called, as the engine's put does", async () => {
    // FIXED (pre-existing, not from bc2d721; the lane keeps the window open
    // until the previous group's write, fsync included, has finished):
    // Store.put keeps references to the caller's key and value arrays and
    // reads them only when its group is built, while DB.put copies them at
    // the call. A caller that reuses its buffer after put() without awaiting
    // (the usual pattern for the engine) writes other bytes, even under
    // another key, and the returned Version.key aliases the caller's array.
    // Fix: copy key and value in Store.put/delete (k.slice(), v.slice())
    // before queueing, or document that they must not change until settled.
    const s = await openStore("/s", options(new MemFileSystem(), new VirtualClock(T0)));
    const key = enc.encode("A");
    const value = Uint8Array.of(1, 2, 3);
    const p = s.put(key, value);
    key[0] = 0x42;
    value[0] = 9;
    const v = await p;
    expect(dec.decode(v.key)).toBe("A");
    expect(await s.get("A")).toEqual(Uint8Array.of(1, 2, 3));
    expect(await s.get("B")).toBeUndefined();
    await s.close();
  });
});

describe("same content in one group", () => {
  test("a value put under many keys in one group is stored once and counted per version; prune and deletes bring the count down consistently", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    let s = await openStore("/s", options(fs, clock, "r", { valueThreshold: 16 }));
    const same = "the same content, long enough for the value log";
    const ps: Array<Promise<Version>> = [];
    for (let i = 0; i < 40; i++) ps.push(i % 10 === 9 ? s.delete(`k${i % 4}`) : s.put(`k${i % 4}`, i % 3 === 0 ? `${same}` : `own ${i}`));
    await Promise.all(ps);
    let r = await s.verify();
    expect(r.problems).toEqual([]);
    clock.advance(10);
    await Promise.all([s.put("k0", same), s.prune({ versions: 1 }), s.put("k1", same)]);
    r = await s.verify();
    expect(r.problems).toEqual([]);
    await s.close();
    s = await openStore("/s", options(fs, clock));
    expect(dec.decode(await s.get("k0"))).toBe(same);
    await Promise.all([s.put("k2", same), s.put("k2", same), s.delete("k2"), s.put("k3", same)]);
    expect((await s.prune({ versions: 1 })).versionsRemoved).toBeGreaterThan(0);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });
});

describe("crash at every FS call with concurrent puts", () => {
  interface W {
    key: string;
    value?: string;
  }
  const KEYS = ["a", "b\u0000", "c"];
  /** Rounds of writes made together (not awaited one by one); odd rounds are split in two halves a few microtasks apart. */
  const ROUNDS: W[][] = Array.from({ length: 6 }, (_, r) => // A
    Array.from({ length: 4 }, (_, i) => { // A
      const key = KEYS[(r + i * 2) % KEYS.length]!;
      if ((r * 4 + i) % 9 === 8) return { key };
      return { key, value: i % 2 === 0 ? `large-${r}-${i}-`.repeat(8) : `v${r}${i}` };
    }));
  const WRITES = ROUNDS.flat();

  function opts(fs: MemFileSystem, clock: VirtualClock, sync: boolean): StoreOptions { // A
    return { fs, clock, sync, log: silentLog(), random: new SeededRandom(9), nodeId: "node-crash", memtableBytes: 2048, valueThreshold: 64 };
  }

  /** Runs the rounds with sync on; `ack(i)` for every write acknowledged; `batches` gets the store batches each round made. */
  async function workload(fs: MemFileSystem, ack: (i: number, v: Version) => void, batches?: number[]): Promise<void> { // A
    const clock = new VirtualClock(T0);
    const s = await openStore("/db", opts(fs, clock, true));
    const batchCount = (): number => { // A
      try {
        return engineOf(s).stats().batchesWritten;
      } catch {
        return -1;
      }
    };
    try {
      let at = 0;
      for (let r = 0; r < ROUNDS.length; r++) {
        clock.advance(1);
        const before = batchCount();
        const round = ROUNDS[r]!;
        const ps: Array<Promise<Version>> = [];
        for (let i = 0; i < round.length; i++) {
          if (r % 2 === 1 && i === round.length / 2) for (let t = 0; t < 8; t++) await Promise.resolve();
          const w = round[i]!;
          ps.push(w.value === undefined ? s.delete(w.key) : s.put(w.key, w.value));
        }
        const res = await Promise.allSettled(ps);
        res.forEach((x, i) => { // A
          if (x.status === "fulfilled") ack(at + i, x.value);
        });
        at += round.length;
        batches?.push(batchCount() - before);
      }
      await s.close();
    } finally {
      await s.close().catch(() => undefined); // A
    }
  }

  test("every group is all or nothing and every acknowledged put survives", async () => {
    const base = new MemFileSystem();
    await (await openStore("/db", opts(base, new VirtualClock(T0), true))).close();

    const probe = base.clone();
    const ids: string[] = [];
    const batches: number[] = [];
    const start = probe.callCount;
    await workload(probe, (i, v) => (ids[i] = v.id), batches); // A
    const calls = probe.callCount - start;
    expect(ids.filter((x) => x !== undefined).length).toBe(WRITES.length); // A
    // Even rounds are one batch; odd rounds two (the second half was made while the first was being written).
    expect(batches).toEqual(ROUNDS.map((_, r) => (r % 2 === 1 ? 2 : 1))); // A
    expect(probe.list("/db").some((n) => n.endsWith(".vlog"))).toBe(true);
    const boundaries = new Set<number>([0]);
    let at = 0;
    ROUNDS.forEach((round, r) => { // A
      if (r % 2 === 1) boundaries.add(at + round.length / 2);
      at += round.length;
      boundaries.add(at);
    });

    const seen = new Set<number>();
    for (let n = 1; n <= calls; n++) {
      const fs = base.clone();
      let acked = 0;
      fs.armCrash(n, n);
      await workload(fs, (i) => (acked = Math.max(acked, i + 1))).catch(() => undefined); // A
      const survivor = fs.lastCrash() ?? fs.crash(n);
      const where = `crash at FS call ${n}/${calls}`;
      const s = await openStore("/db", opts(survivor, new VirtualClock(T0 + 1_000_000), false));
      const held = new Set<string>();
      for (const key of KEYS) for await (const v of s.history(key)) held.add(v.id);
      const k = held.size;
      expect(k, `${where}: ${k} versions, ${acked} acknowledged`).toBeGreaterThanOrEqual(acked);
      expect(boundaries.has(k), `${where}: ${k} versions is not a whole number of groups`).toBe(true);
      expect([...held].sort(), where).toEqual(ids.slice(0, k).sort());
      for (const key of KEYS) {
        const last = k === 0 ? -1 : WRITES.map((w) => w.key).lastIndexOf(key, k - 1); // A
        const got = await s.get(key);
        expect(got === undefined ? undefined : dec.decode(got), `${where}: ${JSON.stringify(key)}`).toBe(last < 0 ? undefined : WRITES[last]!.value);
        expect((await s.heads(key)).map((v) => v.id), where).toEqual(last < 0 ? [] : [ids[last]]);
      }
      const newest = (await Promise.all(KEYS.map((key) => all(s.history(key))))).flat().map((v) => v.hlc).sort().pop() ?? ""; // A
      const after = await s.put("a", "after the crash");
      expect(after.hlc > newest, where).toBe(true);
      await s.close();
      await expectCleanSurvivor(survivor, "/db", k + 1, where);
      seen.add(k);
    }
    expect(seen.size).toBeGreaterThan(ROUNDS.length);
    expect(seen.has(WRITES.length)).toBe(true);
  });
});

describe("clock", () => {
  test("timestamps rise across groups and across restarts whose clock is behind", async () => {
    const fs = new MemFileSystem();
    let s = await openStore("/s", options(fs, new VirtualClock(T0 + 100_000)));
    let last = "";
    const take = (vs: Version[]): void => { // A
      for (const v of vs) {
        expect(v.hlc > last, `${v.hlc} after ${last}`).toBe(true);
        last = v.hlc;
      }
    };
    take(await Promise.all(Array.from({ length: 30 }, (_, i) => s.put(`k${i % 3}`, `a${i}`)))); // A
    take(await Promise.all(Array.from({ length: 30 }, (_, i) => (i % 4 === 0 ? s.delete(`k${i % 3}`) : s.put(`k${i % 3}`, `b${i}`))))); // A
    await s.close();
    for (const behind of [50_000, 100_000]) {
      s = await openStore("/s", options(fs, new VirtualClock(T0 + 100_000 - behind)));
      take(await Promise.all(Array.from({ length: 5 }, (_, i) => s.put(`k${i % 3}`, `c${behind}${i}`)))); // A
      await s.close();
    }
  });
});

describe("more than 1,024 heads", () => {
  test("a lone delete supersedes 1,024 heads; get/keys see the tombstone win; a group of put/delete/put then collapses the heads", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(T0);
    let s = await openStore("/s", options(fs, clock, "local"));
    const items = roots("k", RECORD_MAX_PARENTS + 6);
    expect((await s.applyVersions(items)).linked).toBe(items.length);
    const tomb = await s.delete("k");
    expect(tomb.deleted).toBe(true);
    expect(tomb.parents).toEqual(items.map((i) => sha256Hex(i.record)).sort().slice(0, RECORD_MAX_PARENTS)); // A
    expect(await s.get("k")).toBeUndefined();
    const e = await s.entry("k");
    expect(e!.version.id).toBe(tomb.id);
    expect(e!.value).toBeUndefined();
    expect(e!.conflicts.length).toBe(6);
    expect((await all(s.keys())).map((k) => dec.decode(k))).toEqual([]); // A
    const [p1, d2, p3] = await Promise.all([s.put("k", "x"), s.delete("k"), s.put("k", "y"), s.put("other", "o")]);
    expect(p1.parents.length).toBe(7);
    expect(d2.parents).toEqual([p1.id]);
    expect(p3.parents).toEqual([d2.id]);
    expect((await s.heads("k")).map((h) => h.id)).toEqual([p3.id]);
    expect(dec.decode(await s.get("k"))).toBe("y");
    expect((await all(s.keys())).map((k) => dec.decode(k))).toEqual(["k", "other"]); // A
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
    s = await openStore("/s", options(fs, clock, "local"));
    expect((await all(s.history("k"))).length).toBe(items.length + 4);
    expect((await s.verify()).problems).toEqual([]);
    await s.close();
  });

  test("2,100 heads: three puts made together give exactly the versions three awaited puts give", async () => {
    const items = roots("k", 2100);
    const run = async (together: boolean): Promise<Version[]> => { // A
      const s = await openStore("/s", options(new MemFileSystem(), new VirtualClock(T0), "same-node"));
      await s.applyVersions(items);
      let vs: Version[];
      if (together) vs = await Promise.all([s.put("k", "1"), s.delete("k"), s.put("k", "3")]);
      else vs = [await s.put("k", "1"), await s.delete("k"), await s.put("k", "3")];
      expect((await s.heads("k")).map((h) => h.id)).toEqual([vs[2]!.id]);
      expect((await s.verify()).problems).toEqual([]);
      await s.close();
      return vs;
    };
    const grouped = await run(true);
    const alone = await run(false);
    expect(grouped).toEqual(alone);
    expect(grouped.map((v) => v.parents.length)).toEqual([1024, 1024, 54]); // A
  });
});

describe("held records and pruned parents", () => {
  test("the same records in one call give the same state in any order: a pruned parent before its held child", async () => {
    // FIXED: ingest() releases the waiters of a parent at or before the prune
    // horizon only at the moment that parent is offered. When the parent
    // comes first in the call ([v1, v2, child]) there is no waiter yet; the
    // child then finds v2 missing and is held, waiting for v2 for good (until
    // v2 is offered again). With [child, v1, v2] (writer_A's test) the same
    // records link the child. SPEC 12 says the same set of records, in any
    // order, gives the same state; a peer streaming records() (id order) hits
    // this at random. Fix: remember the ids skipped as pruned in this call
    // (IngestState) and do not count them as missing parents in
    // missingParents().
    const clock = new VirtualClock(T0);
    const { a, byId, v, child } = await prunedSetup(clock);
    const report = await a.applyVersions([byId.get(v[0]!.id)!, byId.get(v[1]!.id)!, byId.get(child.id)!]);
    expect(report).toEqual({ linked: 1, pruned: 2, held: 0, duplicates: 0 });
    expect((await a.heads("k")).map((x) => x.id).sort()).toEqual([v[4]!.id, child.id].sort());
    await a.close();
  });

  test("held behind a pruned parent in one session, released in the next: a merge held for two held parents links transitively; counts add up", async () => {
    const clock = new VirtualClock(T0);
    const { a: first, fsA, byId, v, child, x, y, m } = await prunedSetup(clock);
    expect(await first.applyVersions([byId.get(m.id)!])).toEqual({ linked: 0, pruned: 0, held: 1, duplicates: 0 });
    expect(await first.applyVersions([byId.get(x.id)!, byId.get(y.id)!, byId.get(m.id)!])).toEqual({ linked: 0, pruned: 0, held: 2, duplicates: 1 });
    let r = await first.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(3);
    await first.close();
    const a = await openStore("/a", options(fsA, clock, "a"));
    // v2 (pruned here) offered twice in one call, and v1 too.
    const v2 = byId.get(v[1]!.id)!;
    const report = await a.applyVersions([v2, byId.get(v[0]!.id)!, v2]);
    expect(report).toEqual({ linked: 3, pruned: 3, held: 0, duplicates: 0 });
    expect((await a.heads("k")).map((h) => h.id).sort()).toEqual([v[4]!.id, m.id].sort());
    expect(dec.decode(await a.get("k"))).toBe("d-merge");
    r = await a.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(0);
    expect(r.waiting).toBe(0);
    // Everything again: all duplicates or pruned, nothing changes.
    // (child, a child of v2 that never came here, is left out: offered after v2 it would be held, see the FIXED note above.)
    const again = await a.applyVersions([...byId.values()].filter((i) => i.id !== child.id)); // A
    expect(again.linked + again.held).toBe(0);
    expect((await a.heads("k")).map((h) => h.id).sort()).toEqual([v[4]!.id, m.id].sort());
    // A local put merges both heads.
    const merged = await a.put("k", "local merge");
    expect(merged.parents).toEqual([v[4]!.id, m.id].sort());
    expect((await a.verify()).problems).toEqual([]);
    await a.close();
  });

  test("a child held for a pruned parent and for a parent still to come is linked only when both have been seen", async () => {
    const clock = new VirtualClock(T0);
    const { a, byId, v, x, y, m } = await prunedSetup(clock);
    // m waits for x and y; x waits for v2 (pruned); y has not come.
    expect((await a.applyVersions([byId.get(m.id)!, byId.get(x.id)!])).held).toBe(2);
    const r1 = await a.applyVersions([byId.get(v[1]!.id)!]);
    expect(r1).toEqual({ linked: 1, pruned: 1, held: 0, duplicates: 0 });
    expect((await a.heads("k")).map((h) => h.id).sort()).toEqual([v[4]!.id, x.id].sort());
    let r = await a.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(1);
    // y comes: it waits for v2, offered in the same call after it.
    const r2 = await a.applyVersions([byId.get(y.id)!, byId.get(v[1]!.id)!]);
    expect(r2).toEqual({ linked: 2, pruned: 1, held: 0, duplicates: 0 });
    expect((await a.heads("k")).map((h) => h.id).sort()).toEqual([v[4]!.id, m.id].sort());
    r = await a.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(0);
    await a.close();
  });
});
