/**
 * The LSM tree inside the DB: the open states of the directory (new,
 * WAL-only from release 0.1, manifest), read-only opens over tables,
 * background failures that lose nothing, and iterators keeping their files.
 */
import { describe, expect, test } from "vitest";
import { CorruptionError, FaultFileSystem, IOError, MemFileSystem, WriteBatch, openDB, silentLog, type DB } from "../../src/index.ts";
import { sealWalRecord, WAL_RECORD_HEADER_BYTES } from "../../src/engine/wal/format.ts";
import { WalWriter } from "../../src/engine/wal/writer.ts";
import { collect, dec } from "../support/tmp.ts";

const tiny = { memtableBytes: 4096, blockBytes: 256, targetFileBytes: 4096, l0CompactionTrigger: 2, level1Bytes: 16384, log: silentLog() };
const names = (fs: MemFileSystem): string[] => fs.list("/db");
const tables = (fs: MemFileSystem): string[] => names(fs).filter((n) => n.endsWith(".sst"));
const logs = (fs: MemFileSystem): string[] => names(fs).filter((n) => n.endsWith(".log"));

async function fill(db: DB, n: number, tag = "k", from = 0): Promise<void> {
  for (let i = from; i < from + n; i++) await db.put(`${tag}${String(i).padStart(5, "0")}`, `value-${i}-${"x".repeat(40)}`);
}

describe("LSM tree in the DB", () => {
  test("a new database: manifest first, then the log; data reaches tables and the logs go", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny });
    expect(names(fs)).toContain("CURRENT");
    await fill(db, 400);
    await db.flush();
    expect(tables(fs).length).toBeGreaterThan(0);
    expect(logs(fs)).toHaveLength(1); // only the active one: the flushed logs were removed
    const s = db.stats();
    expect(s.flushes).toBeGreaterThan(0);
    expect(s.levels.reduce((n, l) => n + l.files, 0)).toBe(tables(fs).length);
    expect(s.tableBytes).toBeGreaterThan(400 * 50);
    expect(s.writeAmplification).toBeGreaterThan(1);
    expect(dec(await db.get("k00123"))).toBe(`value-123-${"x".repeat(40)}`);
    await db.close();
    const again = await openDB("/db", { fs, ...tiny });
    expect((await collect(again.iterate())).length).toBe(400);
    expect(again.stats().memtableKeys).toBe(0); // a clean close left nothing to replay
    await again.close();
  });

  test("a WAL-only database from release 0.1 opens, gets a manifest, and keeps every write", async () => {
    const fs = new MemFileSystem();
    fs.mkdir("/db", { recursive: true });
    let seq = 1;
    for (const n of [1, 2]) {
      const w = WalWriter.create(fs, "/db", n, 77 + n);
      for (let i = 0; i < 5; i++) {
        const rec = new WriteBatch().put(`log${n}-${i}`, `v${i}`).toRecord();
        sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, seq++, w.checksumSeed);
        w.append(rec);
      }
      w.close();
    }
    const db = await openDB("/db", { fs, log: silentLog() });
    expect(names(fs)).toContain("CURRENT");
    expect((await collect(db.iterate())).length).toBe(10);
    await db.put("after", "upgrade");
    await db.close(); // flushes: the old logs are retired
    expect(logs(fs).some((n) => n === "000001.log" || n === "000002.log")).toBe(false);
    const again = await openDB("/db", { fs, log: silentLog() });
    expect(dec(await again.get("log1-0"))).toBe("v0");
    expect(dec(await again.get("after"))).toBe("upgrade");
    expect(again.stats().sequence).toBe(11);
    await again.close();
  });

  test("tables and manifests without CURRENT: CorruptionError, nothing removed", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny });
    await fill(db, 200);
    await db.close();
    fs.remove("/db/CURRENT");
    const before = names(fs);
    await expect(openDB("/db", { fs, ...tiny })).rejects.toBeInstanceOf(CorruptionError);
    expect(names(fs)).toEqual(before.filter((n) => n !== "LOCK").concat(names(fs).includes("LOCK") ? [] : []).sort());
  });

  test("read-only open reads tables and logs and writes nothing", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny });
    await fill(db, 300);
    await db.flush();
    await fill(db, 10, "mem"); // only in the log
    const image = fs.clone(); // as a killed process leaves it
    await db.close();
    const files = image.snapshotFiles();
    const ro = await openDB("/db", { fs: image, ...tiny, readOnly: true });
    expect((await collect(ro.iterate())).length).toBe(310);
    expect(dec(await ro.get("mem00003"))).toBe(`value-3-${"x".repeat(40)}`);
    await expect(ro.put("x", "y")).rejects.toThrow();
    await expect(ro.compact()).rejects.toThrow();
    expect(await ro.maintain()).toBe(false);
    await ro.close();
    const after = image.snapshotFiles();
    expect([...after.keys()].filter((k) => !k.endsWith("LOCK"))).toEqual([...files.keys()].filter((k) => !k.endsWith("LOCK")));
  });

  test("a full disk during flush fails the flush, loses nothing, and the next flush succeeds", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const db = await openDB("/db", { fs, ...tiny, memtableBytes: 1 << 20 });
    await fill(db, 100);
    fs.inject({ op: "write", pathIncludes: ".sst", error: "ENOSPC" });
    const err = await db.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IOError);
    expect((err as IOError).errno).toBe("ENOSPC");
    expect(db.stats().backgroundError).toContain("ENOSPC");
    expect(tables(mem)).toEqual([]); // the half-written table was removed
    expect(dec(await db.get("k00050"))).toBe(`value-50-${"x".repeat(40)}`);
    await db.put("later", "write"); // still writable
    await db.flush();
    expect(db.stats().backgroundError).toBeUndefined();
    // Exactly the live tables are on disk: the abandoned one left nothing behind.
    expect(tables(mem).length).toBe(db.stats().levels.reduce((n, l) => n + l.files, 0));
    expect(tables(mem).length).toBeGreaterThan(0);
    await db.close();
    const again = await openDB("/db", { fs: mem, ...tiny });
    expect((await collect(again.iterate())).length).toBe(101);
    await again.close();
  });

  test("an open iterator keeps the tables it reads until it ends", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny });
    await fill(db, 300);
    await db.flush();
    const before = new Set(tables(fs));
    const it = db.iterate();
    const first = await it.next();
    expect(first.done).toBe(false);
    for (let i = 0; i < 300; i++) await db.put(`k${String(i).padStart(5, "0")}`, `new-${i}`); // overwrites, flushed and compacted while it is open
    await db.compact();
    for (const t of before) expect(tables(fs)).toContain(t);
    const liveCount = (): number => db.stats().levels.reduce((n, l) => n + l.files, 0); // A
    expect(tables(fs).length).toBeGreaterThan(liveCount()); // some are on disk only for the iterator
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      expect(dec(r.value[1])).toMatch(/^value-/); // its point in time: none of the later writes
      n++;
    }
    expect(n).toBe(300);
    expect(tables(fs).length).toBe(liveCount()); // released: the compacted-away inputs are gone
    expect((await db.verify()).ok).toBe(true);
    await db.close();
  });

  test("flush writes only the versions some reader can see", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny, memtableBytes: 1 << 20 });
    for (let i = 0; i < 10; i++) await db.put("k", `v${i}`);
    const snap = db.snapshot(); // sees v9
    for (let i = 10; i < 20; i++) await db.put("k", `v${i}`);
    await db.delete("gone");
    await db.flush();
    const tableEntries = async (): Promise<number> => // A
      (await db.verify()).files.filter((f) => f.kind === "table").reduce((n, f) => n + f.entries, 0);
    expect(await tableEntries()).toBe(3); // v19 (latest), v9 (the snapshot's), the tombstone of "gone"
    expect(dec(await db.get("k", { snapshot: snap }))).toBe("v9");
    expect(dec(await db.get("k"))).toBe("v19");
    snap.release();
    await db.compact();
    expect(await tableEntries()).toBe(1); // at the bottom with no snapshot: v19 alone
    await db.close();
  });

  test("close ends open iterators, which then report ClosedError", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", { fs, ...tiny });
    await fill(db, 200);
    await db.flush();
    const it = db.iterate();
    await it.next();
    await db.close();
    await expect(it.next()).rejects.toThrow(/closed/i);
  });
});
