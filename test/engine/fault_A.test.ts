/**
 * I/O faults on the write path: EIO and ENOSPC during the WAL write or its
 * fsync reject that write with a typed error and lose nothing that was
 * acknowledged before; a flipped bit is detected.
 */
import { describe, expect, test } from "vitest";
import { FaultFileSystem, IOError, MemFileSystem, openDB, silentLog, type DB } from "../../src/index.ts";
import { dec } from "../support/tmp.ts";

async function withAcked(fs: FaultFileSystem): Promise<DB> {
  const db = await openDB("/db", { fs, log: silentLog() });
  for (let i = 0; i < 20; i++) await db.put(`acked${i}`, `v${i}`, { sync: i % 5 === 0 });
  return db;
}

async function expectAcked(mem: MemFileSystem, also: Record<string, string | undefined> = {}): Promise<void> {
  const db = await openDB("/db", { fs: mem, log: silentLog() });
  for (let i = 0; i < 20; i++) expect(dec(await db.get(`acked${i}`))).toBe(`v${i}`);
  for (const [k, v] of Object.entries(also)) expect(dec(await db.get(k)), k).toBe(v);
  await db.close();
}

describe("WAL write faults", () => {
  for (const errno of ["EIO", "ENOSPC"]) {
    test(`${errno} on the write call rejects that write; the database stays usable`, async () => {
      const mem = new MemFileSystem();
      const fs = new FaultFileSystem(mem);
      const db = await withAcked(fs);
      fs.inject({ op: "write", pathIncludes: ".log", error: errno });
      const err = await db.put("failed", "x").catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IOError);
      expect((err as IOError).errno).toBe(errno);
      expect(await db.get("failed")).toBeUndefined();
      await db.put("after", "ok"); // the fault was transient: writing goes on
      await db.close();
      await expectAcked(mem, { failed: undefined, after: "ok" });
    });

    test(`${errno} with a short write: the torn bytes are cut back, later writes are readable after reopen`, async () => {
      const mem = new MemFileSystem();
      const fs = new FaultFileSystem(mem, { seed: 7 });
      const db = await withAcked(fs);
      fs.inject({ op: "write", pathIncludes: ".log", error: errno, shortWrite: true });
      const batch = db.batch();
      for (let i = 0; i < 50; i++) batch.put(`big${i}`, "y".repeat(100));
      await expect(db.write(batch)).rejects.toBeInstanceOf(IOError);
      await db.put("after", "ok", { sync: true });
      await db.close();
      await expectAcked(mem, { big0: undefined, after: "ok" });
    });
  }

  test("a failed cut-back after a short write turns the database read-only; nothing acknowledged is lost", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 3 });
    const db = await withAcked(fs);
    fs.inject({ op: "write", pathIncludes: ".log", error: "ENOSPC", shortWrite: true });
    fs.inject({ op: "truncate", pathIncludes: ".log", error: "EIO" });
    await expect(db.put("torn", "x".repeat(300))).rejects.toBeInstanceOf(IOError);
    const later = await db.put("later", "x").catch((e: unknown) => e);
    expect(later).toBeInstanceOf(IOError);
    expect((later as IOError).message).toContain("read-only until reopened");
    expect(dec(await db.get("acked3"))).toBe("v3"); // reads still work
    await db.close();
    await expectAcked(mem, { torn: undefined, later: undefined });
  });

  test("EIO on fsync rejects the sync write and turns the database read-only", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const db = await withAcked(fs);
    fs.inject({ op: "sync", pathIncludes: ".log", error: "EIO" });
    const err = await db.put("unsynced", "x", { sync: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(IOError);
    expect(await db.get("unsynced")).toBeUndefined();
    await expect(db.put("next", "x")).rejects.toBeInstanceOf(IOError);
    await db.close().catch(() => undefined);
    await expectAcked(mem, { unsynced: undefined, next: undefined });
  });

  test("ENOSPC on fsync: concurrent writers of the group all get the error", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem);
    const db = await withAcked(fs);
    fs.inject({ op: "sync", pathIncludes: ".log", error: "ENOSPC" });
    const results = await Promise.allSettled([db.put("g1", "x", { sync: true }), db.put("g2", "x"), db.put("g3", "x", { sync: true })]);
    expect(results.map((r) => r.status)).toEqual(["rejected", "rejected", "rejected"]);
    await db.close().catch(() => undefined);
    await expectAcked(mem, { g1: undefined, g2: undefined, g3: undefined });
  });

  test("a bit flipped on read is reported by verify()", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 11 });
    const db = await withAcked(fs);
    expect((await db.verify()).ok).toBe(true);
    fs.inject({ op: "read", pathIncludes: ".log", bitFlip: true });
    const report = await db.verify();
    expect(report.ok).toBe(false);
    expect(report.problemCount).toBeGreaterThan(0);
    await db.close();
  });
});
