/**
 * The versioned store (issue 5, first part): puts and deletes make
 * hash-linked versions, reads agree with a model, history and as-of reads
 * see every version, values are stored once per content, the clock stays
 * monotonic across restarts, and tampering is a CorruptionError.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError, InvalidArgumentError, MemFileSystem, SeededRandom, VirtualClock, openDB, openStore, silentLog, type StoreOptions, type Version } from "../../src/index.ts";
import { sha256Hex } from "../../src/platform/sha256.ts";
import { encodeVersionRecord } from "../../src/versioned/record.ts";
import { parseHlc } from "../../src/versioned/hlc.ts";

const dec = new TextDecoder();

function opts(fs: MemFileSystem, clock: VirtualClock, extra: StoreOptions = {}): StoreOptions {
  return { fs, clock, log: silentLog(), random: new SeededRandom(5), ...extra };
}

async function all<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe("versioned store", () => {
  test("put, get, heads, history, version, getAt and keys on one key's life", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(1_700_000_000_000);
    const s = await openStore("/db", opts(fs, clock, { nodeId: "node-a" }));
    const v1 = await s.put("k", "one");
    clock.advance(10);
    const v2 = await s.put("k", "two");
    clock.advance(10);
    const v3 = await s.delete("k");
    clock.advance(10);
    const v4 = await s.put("k", "four");
    expect(v1.parents).toEqual([]);
    expect(v2.parents).toEqual([v1.id]);
    expect(v3.parents).toEqual([v2.id]);
    expect(v3.deleted).toBe(true);
    expect(v4.parents).toEqual([v3.id]);
    expect(v1.node).toBe("node-a");
    expect(dec.decode(await s.get("k"))).toBe("four");
    expect((await s.heads("k")).map((v) => v.id)).toEqual([v4.id]);
    expect((await all(s.history("k"))).map((v) => v.id)).toEqual([v4.id, v3.id, v2.id, v1.id]);
    expect((await all(s.history("k", { limit: 2 }))).map((v) => v.id)).toEqual([v4.id, v3.id]);
    expect(dec.decode((await s.version(v2.id))!.value)).toBe("two");
    expect((await s.version(v3.id))!.value).toBeUndefined();
    expect(await s.version("0".repeat(64))).toBeUndefined();
    expect(dec.decode(await s.getAt("k", { version: v1.id }))).toBe("one");
    expect(dec.decode(await s.getAt("k", { time: 1_700_000_000_015 }))).toBe("two");
    expect(await s.getAt("k", { time: 1_700_000_000_025 })).toBeUndefined();
    expect(await s.getAt("k", { time: 1_699_999_999_999 })).toBeUndefined();
    await s.put("a", "x");
    await s.put("b\u0000", "y");
    await s.delete("b\u0000");
    await s.put("b", "z");
    expect((await all(s.keys())).map((k) => dec.decode(k))).toEqual(["a", "b", "k"]);
    expect((await all(s.keys({ gte: "b", lt: "c" }))).map((k) => dec.decode(k))).toEqual(["b"]);
    await expect(s.getAt("k", { version: v1.id, time: 1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.version("xyz")).rejects.toBeInstanceOf(InvalidArgumentError);
    await s.close();
  });

  test("every id is the SHA-256 of the record's canonical bytes, and every value matches its hash", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock();
    const s = await openStore("/db", opts(fs, clock));
    const v = await s.put(Uint8Array.of(0, 255, 7), Uint8Array.of(1, 2, 3));
    const bytes = encodeVersionRecord({
      key: v.key, parents: [], hlc: parseHlc(v.hlc), node: v.node, deleted: false,
      valueHash: Uint8Array.from(v.valueHash.match(/../g)!.map((h) => parseInt(h, 16))), valueSize: v.size,
    });
    expect(v.id).toBe(sha256Hex(bytes));
    expect(v.valueHash).toBe(sha256Hex(Uint8Array.of(1, 2, 3)));
    await s.close();
  });

  test("identical values in many versions are stored once", async () => {
    const fs = new MemFileSystem();
    const s = await openStore("/db", opts(fs, new VirtualClock()));
    const big = new Uint8Array(5000).fill(9);
    for (let i = 0; i < 20; i++) await s.put(`k${i % 4}`, big);
    await s.close();
    const db = await openDB("/db", { fs, log: silentLog() });
    let values = 0;
    for await (const _ of db.iterate({ prefix: Uint8Array.of(0x04), values: false })) values++;
    expect(values).toBe(1);
    await db.close();
  });

  test("the node id and the clock survive a restart; timestamps keep growing when the wall clock goes back", async () => {
    const fs = new MemFileSystem();
    const clock = new VirtualClock(1_700_000_000_000);
    const s = await openStore("/db", opts(fs, clock));
    const a = await s.put("k", "1");
    await s.close();
    const back = new VirtualClock(1_600_000_000_000);
    const s2 = await openStore("/db", opts(fs, back));
    expect(s2.nodeId).toBe(s.nodeId);
    const b = await s2.put("k", "2");
    expect(b.hlc > a.hlc).toBe(true);
    expect(b.parents).toEqual([a.id]);
    expect((await all(s2.history("k"))).map((v) => v.id)).toEqual([b.id, a.id]);
    await s2.close();
    await expect(openStore("/db", opts(fs, back, { nodeId: "someone-else" }))).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  test("a flipped bit in a stored record or value is a CorruptionError naming the key and version", async () => {
    const fs = new MemFileSystem();
    const s = await openStore("/db", opts(fs, new VirtualClock()));
    const v = await s.put("key", "value-bytes");
    await s.close();
    const idBytes = Uint8Array.from(v.id.match(/../g)!.map((h) => parseInt(h, 16)));
    const hashBytes = Uint8Array.from(v.valueHash.match(/../g)!.map((h) => parseInt(h, 16)));
    for (const [ns, id] of [[0x01, idBytes], [0x04, hashBytes]] as const) {
      const image = fs.clone();
      const db = await openDB("/db", { fs: image, log: silentLog() });
      const k = new Uint8Array([ns, ...id]);
      const stored = (await db.get(k))!;
      stored[stored.length - 1]! ^= 1;
      await db.put(k, stored);
      await db.close();
      const s2 = await openStore("/db", opts(image, new VirtualClock()));
      await expect(s2.get("key")).rejects.toBeInstanceOf(CorruptionError);
      await expect(s2.get("key")).rejects.toThrow(/"key"/);
      await s2.close();
    }
  });

  test("model: random puts and deletes on a few keys, with reopens, equal a Map; histories are each key's writes newest first", async () => {
    const op = fc.record({ k: fc.nat(5), del: fc.boolean(), v: fc.nat(3), reopen: fc.nat(15) });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 60, size: "max" }), async (ops) => {
        const fs = new MemFileSystem();
        const clock = new VirtualClock();
        let s = await openStore("/db", opts(fs, clock));
        const model = new Map<string, string>();
        const writes = new Map<string, Version[]>();
        for (const o of ops) {
          const key = `key${o.k}`;
          clock.advance(o.v);
          const version = o.del ? await s.delete(key) : await s.put(key, `v${o.v}`);
          if (o.del) model.delete(key);
          else model.set(key, `v${o.v}`);
          const w = writes.get(key) ?? [];
          expect(version.parents).toEqual(w.length === 0 ? [] : [w[w.length - 1]!.id]);
          w.push(version);
          writes.set(key, w);
          if (o.reopen === 0) {
            await s.close();
            s = await openStore("/db", opts(fs, clock));
          }
        }
        for (let k = 0; k < 6; k++) {
          const key = `key${k}`;
          const got = await s.get(key);
          expect(got === undefined ? undefined : dec.decode(got)).toBe(model.get(key));
          expect((await all(s.history(key))).map((v) => v.id)).toEqual((writes.get(key) ?? []).map((v) => v.id).reverse());
        }
        expect((await all(s.keys())).map((k) => dec.decode(k))).toEqual([...model.keys()].sort());
        await s.close();
      }),
      { numRuns: 30 },
    );
  });

  test("bad arguments are typed errors", async () => {
    const fs = new MemFileSystem();
    await expect(openStore("/db", opts(fs, new VirtualClock(), { nodeId: "" }))).rejects.toBeInstanceOf(InvalidArgumentError);
    const s = await openStore("/db", opts(fs, new VirtualClock()));
    await expect(s.put(42 as unknown as string, "x")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(s.getAt("k", {})).rejects.toBeInstanceOf(InvalidArgumentError);
    // The longest key, all 0x00 (the escaping's worst case), fits the engine's key limit; one byte more is refused.
    const longest = new Uint8Array(32_000);
    await s.put(longest, "ok");
    expect(dec.decode(await s.get(longest))).toBe("ok");
    await expect(s.put(new Uint8Array(32_001), "x")).rejects.toBeInstanceOf(InvalidArgumentError);
    await s.close();
    await expect(s.put("k", "v")).rejects.toThrow(/closed/i);
  });
});
