/**
 * The store's write lane (writer.ts) and the edge cases of issue 5 around
 * it: puts made together share one engine batch yet each gets the history
 * it would have had alone; one bad put does not fail its group; a failed
 * engine write fails the whole group and changes nothing; a key with more
 * than 1,024 heads can still be written; a held record whose parent was
 * pruned here is released when that parent is offered again.
 */
import { describe, expect, test } from "vitest";
import { CorruptionError, FaultFileSystem, IOError, MemFileSystem, SeededRandom, VirtualClock, openDB, openStore, silentLog, type IngestItem, type Store, type Version } from "../../src/index.ts";
import { sha256, sha256Hex } from "../../src/platform/sha256.ts";
import { encodeVersionRecord, RECORD_MAX_PARENTS } from "../../src/versioned/record.ts";
import { GROUP_MAX_OPS } from "../../src/versioned/writer.ts";
import { keyPrefixFor, NS_HEADS } from "../../src/versioned/keyspace.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function options(fs: MemFileSystem | FaultFileSystem, clock: VirtualClock, nodeId = "w"): Parameters<typeof openStore>[1] {
  return { fs, clock, log: silentLog(), random: new SeededRandom(3), nodeId };
}

describe("write lane", () => {
  test("puts and deletes made together, across several groups, each chain onto the previous write of their key", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(1_700_000_000_000);
    let s = await openStore("/s", options(fs, clock));
    const n = GROUP_MAX_OPS * 2 + 100;
    const keys = ["a", "b", "c", "a\u0000", "d"];
    const calls: Array<{ key: string; value: string | undefined; p: Promise<Version> }> = [];
    const rnd = new SeededRandom(11);
    for (let i = 0; i < n; i++) {
      const key = keys[rnd.int(keys.length)]!;
      const del = rnd.int(7) === 0;
      calls.push({ key, value: del ? undefined : `v${i}`, p: del ? s.delete(key) : s.put(key, `v${i}`) });
      if (i % 500 === 0) clock.advance(1);
    }
    const versions = await Promise.all(calls.map((c) => c.p)); // A
    const check = async (): Promise<void> => { // A
      for (const key of keys) {
        const mine = calls.map((c, i) => ({ ...c, v: versions[i]! })).filter((c) => c.key === key); // A
        // Each write's parent is the previous write of its key, in call order.
        mine.forEach((c, i) => expect(c.v.parents).toEqual(i === 0 ? [] : [mine[i - 1]!.v.id])); // A
        expect((await all(s.history(key))).map((v) => v.id)).toEqual(mine.map((c) => c.v.id).reverse()); // A
        expect((await s.heads(key)).map((v) => v.id)).toEqual([mine[mine.length - 1]!.v.id]);
        const last = mine[mine.length - 1]!;
        const got = await s.get(key);
        expect(got === undefined ? undefined : dec.decode(got)).toBe(last.value);
      }
      expect((await s.verify()).ok).toBe(true);
    };
    await check();
    await s.close();
    s = await openStore("/s", options(fs, clock));
    await check();
    // The clock kept its high-water mark: a later put is newer than every version above.
    const newest = versions.map((v) => v.hlc).sort().pop()!; // A
    expect((await s.put("a", "after")).hlc > newest).toBe(true);
    await s.close();
  });

  test("a put whose key has corrupt heads fails alone; the rest of its group is written", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(1_700_000_000_000);
    const db = await openDB("/s", { fs, log: silentLog() });
    await db.put(keyPrefixFor(NS_HEADS, enc.encode("bad")), new Uint8Array(5));
    await db.close();
    const s = await openStore("/s", options(fs, clock));
    const results = await Promise.allSettled([s.put("good1", "1"), s.put("bad", "x"), s.put("good2", "2"), s.put("good1", "1b")]);
    expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected", "fulfilled", "fulfilled"]); // A
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(CorruptionError);
    expect(String((results[1] as PromiseRejectedResult).reason)).toContain("bad");
    expect(dec.decode(await s.get("good1"))).toBe("1b");
    expect(dec.decode(await s.get("good2"))).toBe("2");
    expect((await all(s.history("good1"))).length).toBe(2);
    await s.close();
  });

  test("a failed engine write fails every put of its group and changes nothing; later puts chain onto the old heads", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const clock = new VirtualClock(1_700_000_000_000);
    let s = await openStore("/s", options(fs, clock));
    const before = await s.put("k", "before");
    fs.inject({ op: "write", pathIncludes: ".log", error: "ENOSPC" });
    const results = await Promise.allSettled([s.put("k", "lost1"), s.put("other", "lost2"), s.delete("k")]);
    for (const r of results) {
      expect(r.status).toBe("rejected");
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(IOError);
    }
    expect(dec.decode(await s.get("k"))).toBe("before");
    expect(await s.get("other")).toBeUndefined();
    expect((await all(s.history("k"))).map((v) => v.id)).toEqual([before.id]);
    const after = await s.put("k", "after");
    expect(after.parents).toEqual([before.id]);
    expect((await s.verify()).ok).toBe(true);
    await s.close();
    s = await openStore("/s", options(mem, clock));
    expect((await all(s.history("k"))).map((v) => v.id)).toEqual([after.id, before.id]);
    expect(await s.get("other")).toBeUndefined();
    expect((await s.verify()).ok).toBe(true);
    await s.close();
  });

  test("a key with more than 1,024 heads: a put supersedes 1,024 of them, the rest stay conflicts until later puts take them", async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const s = await openStore("/s", options(new MemFileSystem(), clock, "local"));
    const extra = 7;
    const items: IngestItem[] = [];
    for (let i = 0; i < RECORD_MAX_PARENTS + extra; i++) {
      const value = enc.encode(`root ${i}`);
      const record = encodeVersionRecord({
        key: enc.encode("k"), parents: [], hlc: { ms: 1_600_000_000_000, counter: i }, node: `peer-${i}`, deleted: false, valueHash: sha256(value), valueSize: value.length,
      });
      items.push({ record, value });
    }
    expect((await s.applyVersions(items)).linked).toBe(items.length);
    expect((await s.heads("k")).length).toBe(RECORD_MAX_PARENTS + extra);
    const first = await s.put("k", "first");
    expect(first.parents.length).toBe(RECORD_MAX_PARENTS);
    const lowest = items.map((i) => sha256Hex(i.record)).sort().slice(0, RECORD_MAX_PARENTS); // A
    expect(first.parents).toEqual(lowest);
    const e = await s.entry("k");
    expect(e!.version.id).toBe(first.id);
    expect(dec.decode(e!.value)).toBe("first");
    expect(e!.conflicts.length).toBe(extra);
    const second = await s.put("k", "second");
    expect(second.parents.length).toBe(extra + 1);
    expect((await s.heads("k")).map((v) => v.id)).toEqual([second.id]);
    expect((await s.verify()).ok).toBe(true);
    await s.close();
  });
});

describe("held records and pruned parents", () => {
  /** A store "a" with versions v1..v5 of k pruned down to v5, and a store "b" holding v1, v2 and a child of v2 made later. */
  async function setup(): Promise<{ a: Store; b: Store; byId: Map<string, IngestItem>; v: Version[]; child: Version }> {
    const clock = new VirtualClock(1_700_000_000_000);
    const a = await openStore("/a", options(new MemFileSystem(), clock, "a"));
    const b = await openStore("/b", options(new MemFileSystem(), clock, "b"));
    const v: Version[] = [];
    for (let i = 1; i <= 5; i++) {
      v.push(await a.put("k", `a${i}`));
      clock.advance(10);
    }
    const byId = new Map((await all(a.records())).map((i) => [i.id!, i])); // A
    await b.applyVersions([byId.get(v[0]!.id)!, byId.get(v[1]!.id)!]);
    clock.advance(100);
    const child = await b.put("k", "b-child");
    for (const i of await all(b.records())) byId.set(i.id!, i);
    expect((await a.prune({ versions: 1 })).versionsRemoved).toBe(4);
    return { a, b, byId, v, child };
  }

  test("a child held for a parent pruned here is linked when that parent is offered again (same call or a later one)", async () => {
    for (const sameCall of [false, true]) {
      const { a, b, byId, v, child } = await setup();
      if (!sameCall) {
        expect(await a.applyVersions([byId.get(child.id)!])).toEqual({ linked: 0, pruned: 0, held: 1, duplicates: 0 });
      }
      const items = [byId.get(v[0]!.id)!, byId.get(v[1]!.id)!];
      const report = await a.applyVersions(sameCall ? [byId.get(child.id)!, ...items] : items);
      expect(report).toEqual({ linked: 1, pruned: 2, held: 0, duplicates: 0 });
      expect((await a.heads("k")).map((x) => x.id).sort()).toEqual([v[4]!.id, child.id].sort());
      expect(dec.decode(await a.get("k"))).toBe("b-child");
      const r = await a.verify();
      expect(r.problems).toEqual([]);
      expect(r.pending).toBe(0);
      await a.close();
      await b.close();
    }
  });

  test("a chain held behind a parent pruned here is linked, transitively, once that parent is offered", async () => {
    const { a, b, byId, v, child } = await setup();
    // A third store builds on the child: a gets that version before the child itself.
    const clock = new VirtualClock(1_700_000_010_000);
    const c = await openStore("/c", options(new MemFileSystem(), clock, "c"));
    await c.applyVersions([byId.get(v[0]!.id)!, byId.get(v[1]!.id)!, byId.get(child.id)!]);
    const other = await c.put("k", "c-other");
    const otherItem = (await all(c.records())).find((i) => i.id === other.id)!; // A
    expect(other.parents).toEqual([child.id]);
    // a gets `other` first: it waits for child, which waits for v2 (pruned here).
    expect((await a.applyVersions([otherItem])).held).toBe(1);
    expect((await a.applyVersions([byId.get(child.id)!])).held).toBe(1);
    let r = await a.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(2);
    const report = await a.applyVersions([byId.get(v[1]!.id)!]);
    expect(report).toEqual({ linked: 2, pruned: 1, held: 0, duplicates: 0 });
    expect(dec.decode(await a.get("k"))).toBe("c-other");
    r = await a.verify();
    expect(r.problems).toEqual([]);
    expect(r.pending).toBe(0);
    await Promise.all([a.close(), b.close(), c.close()]);
  });
});

describe("as-of reads on divergent heads", () => {
  test("getAt({ time }) picks the same head as get, also when two heads share one HLC", async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const a = await openStore("/a", options(new MemFileSystem(), clock, "a"));
    const b = await openStore("/b", options(new MemFileSystem(), clock, "b"));
    const va = await a.put("k", "from-a");
    const vb = await b.put("k", "from-b");
    expect(va.hlc).toBe(vb.hlc);
    await a.applyVersions(await all(b.records()));
    const winner = va.id > vb.id ? "from-a" : "from-b";
    expect(dec.decode(await a.get("k"))).toBe(winner);
    expect(dec.decode(await a.getAt("k", { time: 1_700_000_000_000 }))).toBe(winner);
    // History: newest first, ascending id among equal HLCs.
    expect((await all(a.history("k"))).map((v) => v.id)).toEqual([va.id, vb.id].sort());
    clock.advance(5);
    const c = await a.put("k", "merged");
    expect(c.parents).toEqual([va.id, vb.id].sort());
    expect(dec.decode(await a.getAt("k", { time: 1_700_000_000_004 }))).toBe(winner);
    expect(dec.decode(await a.getAt("k", { time: 1_700_000_000_005 }))).toBe("merged");
    await Promise.all([a.close(), b.close()]);
  });
});

describe("caller buffers", () => {
  test("put and applyVersions take copies: changing the caller's bytes after the call changes nothing stored", async () => {
    const clock = new VirtualClock(1_700_000_000_000);
    const a = await openStore("/a", options(new MemFileSystem(), clock, "a"));
    const b = await openStore("/b", options(new MemFileSystem(), clock, "b"));
    const v = await a.put("k", "value");
    const items = await all(a.records());
    const key = enc.encode("q");
    const value = enc.encode("abc");
    const blocker = b.put("x", "first"); // the next calls queue behind it
    const p = b.put(key, value);
    const q = b.applyVersions(items);
    key[0] = 0x42;
    value[0] = 0x39;
    items[0]!.record[0] = 0xff;
    items[0]!.value![0] = 0x00;
    await blocker;
    const version = await p;
    expect(dec.decode(version.key)).toBe("q");
    expect(dec.decode(await b.get("q"))).toBe("abc");
    expect(await b.get("B")).toBeUndefined();
    expect((await q).linked).toBe(1);
    expect(dec.decode(await b.get("k"))).toBe("value");
    expect((await b.version(v.id))!.version.id).toBe(v.id);
    await Promise.all([a.close(), b.close()]);
  });
});
