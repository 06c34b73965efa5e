/**
 * Profiles and their budgets (SPEC.md, "Memory budget"): each profile opens,
 * keeps a model's contents across flushes and reopens with values around
 * its value-log threshold, reports its memory budget split in stats(), and
 * enforces it: the WAL cap, the iterators' share, the open tables' share.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { BudgetExceededError, InvalidArgumentError, MemFileSystem, SeededRandom, openDB, silentLog, type DBOptions, type FileSystem } from "../../src/index.ts";

const enc = new TextEncoder();
const PROFILES = ["server", "mobile", "background"] as const;

function opts(fs: FileSystem, extra: DBOptions): DBOptions {
  return { fs, log: silentLog(), random: new SeededRandom(4), ...extra };
}

function value(k: number, version: number, n: number): Uint8Array {
  const v = new Uint8Array(n);
  v.set(enc.encode(`${k}@${version}|`).subarray(0, n));
  for (let i = 10; i < n; i++) v[i] = (i * 13 + version) & 255;
  return v;
}

describe("profiles", () => {
  for (const profile of PROFILES) {
    test(`${profile}: a model run across its value-log threshold, flushes and reopens; the budget is reported and kept`, async () => {
      const threshold = profile === "server" ? 4096 : 1024;
      await fc.assert(
        fc.asyncProperty(
          fc.array(
            fc.record({ k: fc.nat(30), n: fc.oneof(fc.integer({ min: 0, max: threshold - 1 }), fc.integer({ min: threshold, max: threshold * 3 })), del: fc.boolean(), cut: fc.nat(20) }),
            { minLength: 10, maxLength: 80, size: "max" },
          ),
          async (ops) => {
            const fs = new MemFileSystem();
            let db = await openDB("/db", opts(fs, { profile }));
            const model = new Map<string, Uint8Array>();
            let version = 0;
            for (const o of ops) {
              const key = `key${o.k}`;
              if (o.del && o.k % 3 === 0) {
                await db.delete(key);
                model.delete(key);
              } else {
                const v = value(o.k, ++version, o.n);
                await db.put(key, v);
                model.set(key, v);
              }
              if (o.cut === 0) await db.flush();
              if (o.cut === 1) {
                await db.close();
                db = await openDB("/db", opts(fs, { profile }));
              }
            }
            for (const [k, v] of model) expect(await db.get(k)).toEqual(v);
            const m = db.stats().memory;
            expect(m.budgetBytes).toBe(profile === "server" ? 1024 ** 3 : profile === "mobile" ? 48 * 1024 ** 2 : 16 * 1024 ** 2);
            expect(m.usedBytes).toBeLessThanOrEqual(m.budgetBytes);
            expect(m.usedBytes).toBe(m.memtables + m.blockCache + m.tableMeta + m.iterators + m.writeBuffers);
            expect(m.tableMeta).toBeLessThanOrEqual(m.tableMetaMax);
            expect(db.stats().profile).toBe(profile);
            await db.close();
          },
        ),
        { numRuns: 6 },
      );
    });
  }

  test("mobile and background do no work the app did not ask for: no compaction, no value-log GC", async () => {
    for (const profile of ["mobile", "background"] as const) {
      const fs = new MemFileSystem();
      const db = await openDB("/db", opts(fs, { profile, memtableBytes: 64 * 1024, cacheBytes: 64 * 1024, vlogFileBytes: 64 * 1024 }));
      for (let r = 0; r < 6; r++) for (let k = 0; k < 40; k++) await db.put(`k${k}`, value(k, r, 1500));
      await db.flush();
      const s = db.stats();
      expect(s.compactions, profile).toBe(0);
      expect(s.valueLog.files, profile).toBeGreaterThan(1);
      expect(s.valueLog.gcFilesDeleted, profile).toBe(0);
      // Asked for: maintain() does a bounded step of each.
      await db.compact();
      expect((await db.gcValueLog()).filesDeleted).toBeGreaterThan(0);
      for (let k = 0; k < 40; k++) expect(await db.get(`k${k}`)).toEqual(value(k, 5, 1500));
      await db.close();
    }
  });

  test("the WAL never grows past walMaxBytes: reaching it seals the memtable and starts a new log", async () => {
    const fs = new MemFileSystem();
    const cap = 48 * 1024;
    const db = await openDB("/db", opts(fs, { walMaxBytes: cap, memtableBytes: 8 * 1024 * 1024 }));
    let maxWal = 0;
    for (let i = 0; i < 1500; i++) {
      await db.put(`key${i % 300}`, value(i, i, 200));
      const wal = fs.list("/db").filter((n) => n.endsWith(".log")).reduce((s, n) => s + fs.readFile(`/db/${n}`).length, 0);
      maxWal = Math.max(maxWal, wal);
    }
    expect(db.stats().memtableRotations).toBeGreaterThan(3);
    // One record may land after the check that seals the log.
    expect(maxWal).toBeLessThanOrEqual(cap + 300);
    for (let k = 0; k < 300; k++) expect(await db.get(`key${k}`)).toEqual(value(1200 + k, 1200 + k, 200));
    await db.close();
  });

  test("iterators past the budget's share are refused with BudgetExceededError; ending one makes room", async () => {
    const fs = new MemFileSystem();
    // A 2 MiB budget gives iterators 128 KiB: about 16 iterators of 8 KiB (one source) each.
    const db = await openDB("/db", opts(fs, { memoryBudgetBytes: 2 * 1024 * 1024, memtableBytes: 256 * 1024, cacheBytes: 256 * 1024 }));
    await db.put("a", "1");
    const its = [];
    let refused: unknown;
    for (let i = 0; i < 100 && refused === undefined; i++) {
      try {
        its.push(db.iterate());
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toBeInstanceOf(BudgetExceededError);
    expect(its.length).toBeGreaterThan(4);
    expect(db.stats().memory.iterators).toBeLessThanOrEqual(db.stats().memory.iteratorsMax);
    await its[0]!.return();
    const again = db.iterate();
    expect((await again.next()).value).toEqual([enc.encode("a"), enc.encode("1")]);
    await again.return();
    for (const it of its.slice(1)) await it.return();
    expect(db.stats().memory.iterators).toBe(0);
    await db.close();
  });

  test("open tables' indexes and filters stay within their share: the table cache closes the least recently used", async () => {
    const fs = new MemFileSystem();
    // 200 KiB leaves ~50 KiB for indexes and filters: room for about 60 of the ~200 tables written.
    const db = await openDB("/db", opts(fs, { memoryBudgetBytes: 200 * 1024, memtableBytes: 16 * 1024, cacheBytes: 64 * 1024, compaction: "mobile", maxSortedRuns: 200 }));
    for (let t = 0; t < 60; t++) {
      for (let i = 0; i < 400; i++) await db.put(`t${t}-k${i}`, value(i, t, 20));
      await db.flush();
    }
    for (let t = 0; t < 60; t++) expect(await db.get(`t${t}-k7`)).toEqual(value(7, t, 20));
    const m = db.stats().memory;
    const tables = db.stats().sortedRuns;
    expect(tables).toBeGreaterThanOrEqual(60);
    // Far fewer open than exist: the byte bound, not the count (1000 files), closed the rest.
    expect(db.stats().tableCache.open).toBeLessThan(tables / 2);
    expect(m.tableMeta).toBeGreaterThan(0);
    expect(m.tableMeta).toBeLessThanOrEqual(m.tableMetaMax);
    await db.close();
  });

  test("a budget too small for its parts, or a bad valueLogGc, is an InvalidArgumentError", async () => {
    const fs = new MemFileSystem();
    await expect(openDB("/db", opts(fs, { memoryBudgetBytes: 1024 * 1024, memtableBytes: 512 * 1024 }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openDB("/db", opts(fs, { valueLogGc: "sometimes" as "auto" }))).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(openDB("/db", opts(fs, { profile: "background", cacheBytes: 64 * 1024 * 1024 }))).rejects.toThrow(/memoryBudgetBytes/);
  });
});
