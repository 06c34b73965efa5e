import { afterEach, describe, expect, test } from "vitest";
import {
  ClosedError, InvalidArgumentError, LockedError, MAX_KEY_BYTES, MemFileSystem, NotFoundError, ReadOnlyError, openDB, silentLog,
  type DB,
} from "../../src/index.ts";
import { collect, dec, enc, tempDir } from "../support/tmp.ts";

const open = (fs: MemFileSystem, extra = {}): Promise<DB> => openDB("/db", { fs, log: silentLog(), ...extra });

describe("DB basics on the in-memory FS", () => {
  test("put, get, delete, overwrite", async () => {
    const db = await open(new MemFileSystem());
    await db.put("a", "1");
    await db.put(enc("b"), enc("2"));
    expect(dec(await db.get("a"))).toBe("1");
    expect(dec(await db.get(enc("b")))).toBe("2");
    await db.put("a", "3");
    expect(dec(await db.get("a"))).toBe("3");
    await db.delete("a");
    expect(await db.get("a")).toBeUndefined();
    expect(await db.get("missing")).toBeUndefined();
    await db.close();
  });

  test("returned values are copies: mutating them changes nothing", async () => {
    const db = await open(new MemFileSystem());
    const v = enc("hello");
    await db.put("k", v);
    v[0] = 0; // the caller's buffer changed after put
    const got = (await db.get("k"))!;
    expect(dec(got)).toBe("hello");
    got[0] = 0;
    expect(dec(await db.get("k"))).toBe("hello");
    // The same once the value sits in a table (whose reader hands out views of cached blocks).
    await db.flush();
    const fromTable = (await db.get("k"))!;
    fromTable.fill(0);
    expect(dec(await db.get("k"))).toBe("hello");
    const it = db.iterate();
    it.nextSync()![1].fill(0);
    await it.return();
    expect(dec(await db.get("k"))).toBe("hello");
    expect(dec(db.iterate().nextSync()![1])).toBe("hello");
    await db.close();
  });

  test("empty key and empty value are valid", async () => {
    const db = await open(new MemFileSystem());
    await db.put("", "");
    expect(await db.get("")).toEqual(new Uint8Array(0));
    await db.close();
  });

  test("data survives close and reopen", async () => {
    const fs = new MemFileSystem();
    let db = await open(fs);
    const b = db.batch();
    for (let i = 0; i < 500; i++) b.put(`k${i}`, `v${i}`);
    await db.write(b);
    await db.delete("k7");
    await db.close();
    db = await open(fs);
    expect(dec(await db.get("k499"))).toBe("v499");
    expect(await db.get("k7")).toBeUndefined();
    expect(db.stats().sequence).toBe(501);
    await db.put("after", "x");
    expect(db.stats().sequence).toBe(502);
    await db.close();
  });

  test("a batch is applied as a whole, later entries win", async () => {
    const db = await open(new MemFileSystem());
    const b = db.batch().put("x", "1").put("y", "2").delete("x").put("z", "3");
    expect(b.length).toBe(4);
    await db.write(b);
    expect(await db.get("x")).toBeUndefined();
    expect(dec(await db.get("y"))).toBe("2");
    b.clear();
    expect(b.length).toBe(0);
    await db.write(b); // empty batch: no-op
    await db.close();
  });

  test("a batch reused after write does not change what was written", async () => {
    const db = await open(new MemFileSystem());
    const b = db.batch().put("k", "first");
    const p = db.write(b);
    b.clear().put("k", "second-but-not-written");
    await p;
    expect(dec(await db.get("k"))).toBe("first");
    await db.close();
  });

  test("one batch written several times, in one group and across groups, with changes in between", async () => {
    const fs = new MemFileSystem();
    const db = await open(fs);
    const b = db.batch().put("a", "1").put("b", "1");
    const p1 = db.write(b); // hands its buffer to the record
    const p2 = db.write(b); // same contents, its own copy: both sealed in one group
    b.put("c", "1"); // copy on write: the two records keep their bytes
    const p3 = db.write(b);
    b.delete("a");
    await Promise.all([p1, p2, p3]);
    expect(dec(await db.get("c"))).toBe("1");
    expect(dec(await db.get("a"))).toBe("1"); // the delete was never written
    await db.write(b);
    expect(await db.get("a")).toBeUndefined();
    expect(db.stats().sequence).toBe(2 + 2 + 3 + 4);
    await db.close();
    const again = await open(fs);
    expect(await again.get("a")).toBeUndefined();
    expect(dec(await again.get("b"))).toBe("1");
    await again.close();
  });

  test("writes issued together share one commit group and one fsync", async () => {
    const db = await open(new MemFileSystem());
    await Promise.all(Array.from({ length: 100 }, (_, i) => db.put(`k${i}`, "v", { sync: true })));
    const s = db.stats();
    expect(s.writeGroups).toBe(1);
    expect(s.syncs).toBe(1);
    expect(s.batchesWritten).toBe(100);
    await db.close();
  });

  test("stats report bytes written, WAL and memtable size", async () => {
    const db = await open(new MemFileSystem());
    const s0 = db.stats();
    await db.put("key", "value");
    const s1 = db.stats();
    expect(s1.bytesWritten).toBeGreaterThan(s0.bytesWritten);
    expect(s1.walBytes).toBe(s0.walBytes + (s1.bytesWritten - s0.bytesWritten));
    expect(s1.memtableBytes).toBeGreaterThan(s0.memtableBytes);
    expect(s1.memtableKeys).toBe(1);
    await db.close();
  });
});

describe("bad input gets a typed error and changes nothing", () => {
  test("wrong argument types", async () => {
    const db = await open(new MemFileSystem());
    await expect(db.put(42 as never, "v")).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.put("k", null as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.get(undefined as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.delete({} as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.write([] as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.put("k", "v", { sync: "yes" } as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => db.iterate({ gt: 5 } as never)).toThrow(InvalidArgumentError);
    expect(() => db.iterate({ gt: "a", gte: "b" })).toThrow(InvalidArgumentError);
    expect(() => db.batch().put("k", 7 as never)).toThrow(InvalidArgumentError);
    expect(db.stats().sequence).toBe(0);
    await db.close();
  });

  test("oversized key", async () => {
    const db = await open(new MemFileSystem());
    await expect(db.put(new Uint8Array(MAX_KEY_BYTES + 1), "v")).rejects.toBeInstanceOf(InvalidArgumentError);
    await db.put(new Uint8Array(MAX_KEY_BYTES), "v");
    expect(db.stats().sequence).toBe(1);
    await db.close();
  });

  test("a batch with one bad entry keeps its earlier entries only in the batch", async () => {
    const db = await open(new MemFileSystem());
    const b = db.batch().put("ok", "1");
    expect(() => b.put("bad", 1 as never)).toThrow(InvalidArgumentError);
    expect(b.length).toBe(1);
    await db.close();
  });

  test("bad options", async () => {
    const fs = new MemFileSystem();
    await expect(openDB("/db", { fs, profile: "laptop" as never })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openDB("/db", { fs, memtableBytes: -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openDB("", { fs })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openDB("/nope", { fs, createIfMissing: false })).rejects.toBeInstanceOf(NotFoundError);
  });

  test("after close everything fails with ClosedError", async () => {
    const db = await open(new MemFileSystem());
    await db.put("k", "v");
    const it = db.iterate();
    await db.close();
    await db.close(); // idempotent
    await expect(db.put("k", "v")).rejects.toBeInstanceOf(ClosedError);
    await expect(db.get("k")).rejects.toBeInstanceOf(ClosedError);
    await expect(db.delete("k")).rejects.toBeInstanceOf(ClosedError);
    await expect(it.next()).rejects.toBeInstanceOf(ClosedError);
    expect(() => db.snapshot()).toThrow(ClosedError);
  });

  test("writes issued before close are settled by close", async () => {
    const fs = new MemFileSystem();
    const db = await open(fs);
    const pending = Array.from({ length: 10 }, (_, i) => db.put(`k${i}`, "v"));
    await db.close();
    await Promise.all(pending);
    const again = await open(fs);
    expect(dec(await again.get("k9"))).toBe("v");
    await again.close();
  });

  test("read-only mode refuses writes", async () => {
    const fs = new MemFileSystem();
    const db = await open(fs);
    await db.put("k", "v");
    await db.close();
    const ro = await open(fs, { readOnly: true });
    expect(dec(await ro.get("k"))).toBe("v");
    await expect(ro.put("k", "w")).rejects.toBeInstanceOf(ReadOnlyError);
    await ro.close();
  });

  test("a second open of the same database gets LockedError", async () => {
    const fs = new MemFileSystem();
    const db = await open(fs);
    await expect(open(fs)).rejects.toBeInstanceOf(LockedError);
    await db.close();
    const again = await open(fs);
    await again.close();
  });
});

describe("iterate", () => {
  async function filled(): Promise<DB> {
    const db = await open(new MemFileSystem());
    const b = db.batch();
    for (const k of ["a", "ab", "abc", "b", "ba", "c", "\u00ff", "\u00ff\u00ff"]) b.put(k, `v:${k}`);
    await db.write(b);
    await db.delete("ba");
    return db;
  }
  const keys = (rows: Array<[string, string]>): string[] => rows.map((r) => r[0]);

  test("full scan forward and reverse, bytewise order", async () => {
    const db = await filled();
    // "\u00ff" is UTF-8 C3 BF, which sorts after ASCII.
    expect(keys(await collect(db.iterate()))).toEqual(["a", "ab", "abc", "b", "c", "\u00ff", "\u00ff\u00ff"]);
    expect(keys(await collect(db.iterate({ reverse: true })))).toEqual(["\u00ff\u00ff", "\u00ff", "c", "b", "abc", "ab", "a"]);
    await db.close();
  });

  test("bounds, prefix, limit", async () => {
    const db = await filled();
    expect(keys(await collect(db.iterate({ gt: "a", lt: "b" })))).toEqual(["ab", "abc"]);
    expect(keys(await collect(db.iterate({ gte: "a", lte: "b" })))).toEqual(["a", "ab", "abc", "b"]);
    expect(keys(await collect(db.iterate({ gte: "a", lte: "b", reverse: true })))).toEqual(["b", "abc", "ab", "a"]);
    expect(keys(await collect(db.iterate({ gt: "a", lt: "b", reverse: true })))).toEqual(["abc", "ab"]);
    expect(keys(await collect(db.iterate({ prefix: "ab" })))).toEqual(["ab", "abc"]);
    expect(keys(await collect(db.iterate({ prefix: "ab", reverse: true })))).toEqual(["abc", "ab"]);
    expect(keys(await collect(db.iterate({ prefix: new Uint8Array([0xc3, 0xbf]), reverse: true })))).toEqual(["\u00ff\u00ff", "\u00ff"]);
    expect(keys(await collect(db.iterate({ limit: 2 })))).toEqual(["a", "ab"]);
    expect(keys(await collect(db.iterate({ limit: 0 })))).toEqual([]);
    expect(keys(await collect(db.iterate({ gt: "c", lt: "a" })))).toEqual([]);
    await db.close();
  });

  test("keys: false and values: false give empty slots", async () => {
    const db = await filled();
    const rows: Array<[Uint8Array, Uint8Array]> = [];
    for await (const e of db.iterate({ values: false, limit: 1 })) rows.push(e);
    expect(dec(rows[0]![0])).toBe("a");
    expect(rows[0]![1].length).toBe(0);
    await db.close();
  });

  test("an iterator reads at its creation point, undisturbed by later writes", async () => {
    const db = await filled();
    const it = db.iterate();
    const first = await it.next();
    expect(dec((first.value as [Uint8Array, Uint8Array])[0])).toBe("a");
    await db.put("aa", "new");
    await db.delete("b");
    await db.put("abc", "changed");
    const rest: string[] = [];
    for await (const [k, v] of it) rest.push(`${dec(k)}=${dec(v)}`);
    expect(rest).toEqual(["ab=v:ab", "abc=v:abc", "b=v:b", "c=v:c", "\u00ff=v:\u00ff", "\u00ff\u00ff=v:\u00ff\u00ff"]);
    expect(db.stats().liveSnapshots).toBe(0);
    await db.close();
  });

  test("breaking out of for-await releases the iterator's snapshot", async () => {
    const db = await filled();
    for await (const _ of db.iterate()) break;
    expect(db.stats().liveSnapshots).toBe(0);
    await db.close();
  });
});

describe("snapshots", () => {
  test("get and iterate at a snapshot", async () => {
    const db = await open(new MemFileSystem());
    await db.put("k", "old");
    await db.put("gone", "here");
    const snap = db.snapshot();
    await db.put("k", "new");
    await db.delete("gone");
    await db.put("later", "x");
    expect(dec(await db.get("k", { snapshot: snap }))).toBe("old");
    expect(dec(await db.get("gone", { snapshot: snap }))).toBe("here");
    expect(await db.get("later", { snapshot: snap })).toBeUndefined();
    expect(await collect(db.iterate({ snapshot: snap }))).toEqual([["gone", "here"], ["k", "old"]]);
    expect(db.stats().liveSnapshots).toBe(1);
    snap.release();
    snap.release();
    expect(db.stats().liveSnapshots).toBe(0);
    await expect(db.get("k", { snapshot: snap })).rejects.toBeInstanceOf(ClosedError);
    await db.close();
  });
});

describe("on the real file system", () => {
  let cleanup: (() => void) | undefined;
  afterEach(() => cleanup?.());

  test("persist, reopen, lock, verify", async () => {
    const t = tempDir();
    cleanup = t.cleanup;
    const path = `${t.path}/db`;
    const db = await openDB(path, { log: silentLog() });
    await db.put("hello", "world", { sync: true });
    await expect(openDB(path, { log: silentLog() })).rejects.toBeInstanceOf(LockedError);
    const report = await db.verify();
    expect(report.ok).toBe(true);
    expect(report.files[0]!.records).toBe(1);
    await db.close();
    const again = await openDB(path, { log: silentLog() });
    expect(dec(await again.get("hello"))).toBe("world");
    await again.close();
  });
});
