/**
 * Value-log GC (SPEC.md 10.10): it frees space, and it never resurrects a
 * deleted key, loses a value, or breaks an open snapshot or iterator (the
 * failures Badger had: #2286, #2143, #354, #2334), also when writes race it,
 * the disk fills up, or the process dies at any FS call.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { FaultFileSystem, IOError, MemFileSystem, SeededRandom, openDB, silentLog, type DB, type DBOptions, type FileSystem } from "../../src/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function opts(fs: FileSystem, extra: DBOptions = {}): DBOptions {
  return {
    fs, log: silentLog(), random: new SeededRandom(9), valueThreshold: 64, vlogFileBytes: 8 * 1024,
    memtableBytes: 32 * 1024, valueLogGc: "manual", ...extra,
  };
}

function value(key: string, version: number, n: number): Uint8Array {
  const v = new Uint8Array(n);
  v.set(enc.encode(`${key}@${version}|`).subarray(0, n));
  for (let i = 12; i < n; i++) v[i] = (i + version * 7) & 255;
  return v;
}

const key = (i: number): string => `key${String(i).padStart(4, "0")}`;

function vlogBytes(fs: MemFileSystem): number {
  return fs.list("/db").filter((n) => n.endsWith(".vlog")).reduce((s, n) => s + fs.readFile(`/db/${n}`).length, 0);
}

async function contents(db: DB): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const [k, v] of db.iterate()) out.set(dec.decode(k), dec.decode(v.subarray(0, 12)) + `#${v.length}`);
  return out;
}

function modelContents(model: Map<string, Uint8Array>): Map<string, string> {
  return new Map([...model].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => [k, dec.decode(v.subarray(0, 12)) + `#${v.length}`]));
}

/**
 * 200 keys of 200-byte values, then `rounds - 1` rounds each overwriting two
 * thirds of them (so older files keep some live values GC must move), a
 * fifth deleted at the end; flushed and compacted.
 */
async function churn(db: DB, rounds: number, model: Map<string, Uint8Array>): Promise<void> {
  for (let r = 0; r < rounds; r++) {
    for (let i = 0; i < 200; i++) {
      if (r > 0 && i % 3 === r % 3) continue;
      const v = value(key(i), r, 200);
      await db.put(key(i), v);
      model.set(key(i), v);
    }
  }
  for (let i = 0; i < 200; i += 5) {
    await db.delete(key(i));
    model.delete(key(i));
  }
  await db.compact();
}

describe("value-log GC", () => {
  test("after 3 overwrites and compaction, GC frees the garbage: space <= 1.3x live, every value intact, deletes stay deleted", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    const model = new Map<string, Uint8Array>();
    await churn(db, 4, model);
    const before = vlogBytes(fs);
    const stats = db.stats().valueLog;
    expect(stats.garbageBytes).toBeGreaterThan(before / 2);
    const report = await db.gcValueLog();
    expect(report.filesDeleted).toBeGreaterThan(0);
    expect(report.recordsMoved).toBeGreaterThan(0);
    expect(report.problems).toEqual([]);
    const live = [...model.values()].reduce((s, v) => s + 22 + 7 + v.length, 0);
    expect(vlogBytes(fs)).toBeLessThanOrEqual(1.3 * live + 8 * 1024);
    expect(vlogBytes(fs)).toBeLessThan(before / 2);
    expect(await contents(db)).toEqual(modelContents(model));
    for (let i = 0; i < 200; i += 5) expect(await db.get(key(i))).toBeUndefined();
    expect((await db.verify()).ok).toBe(true);
    await db.close();
    const db2 = await openDB("/db", opts(fs));
    expect(await contents(db2)).toEqual(modelContents(model));
    for (let i = 0; i < 200; i += 5) expect(await db2.get(key(i))).toBeUndefined();
    expect((await db2.verify()).ok).toBe(true);
    await db2.close();
  });

  test("an open snapshot and an open iterator keep reading the old values; the file goes only after both are released", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    const model = new Map<string, Uint8Array>();
    for (let i = 0; i < 200; i++) {
      const v = value(key(i), 0, 200);
      await db.put(key(i), v);
      model.set(key(i), v);
    }
    const old = new Map(model);
    const snap = db.snapshot();
    const it = db.iterate();
    const first = await it.next();
    expect(dec.decode(first.value![0])).toBe(key(0));
    await churn(db, 3, model);
    const r1 = await db.gcValueLog();
    expect(r1.filesRetired).toBeGreaterThan(0);
    // Retired, but readers from before the rewrite still need the files.
    expect(r1.filesWaiting).toBeGreaterThan(0);
    for (let i = 0; i < 200; i++) expect(await db.get(key(i), { snapshot: snap })).toEqual(old.get(key(i)));
    let n = 1;
    for (let r = await it.next(); !r.done; r = await it.next()) {
      const k = dec.decode(r.value[0]);
      expect(r.value[1]).toEqual(old.get(k));
      n++;
    }
    expect(n).toBe(200);
    snap.release();
    const r2 = await db.gcValueLog();
    expect(r2.filesDeleted).toBeGreaterThan(0);
    expect(r2.filesWaiting).toBe(0);
    expect(await contents(db)).toEqual(modelContents(model));
    await db.close();
  });

  test("writes racing GC win: a put or delete issued while GC runs is never overwritten by the move", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    const model = new Map<string, Uint8Array>();
    await churn(db, 3, model);
    const gc = db.gcValueLog({ maxBytes: 64 * 1024 });
    const writes: Array<Promise<void>> = [];
    for (let i = 1; i < 200; i += 3) {
      if (i % 2 === 0) {
        writes.push(db.delete(key(i)));
        model.delete(key(i));
      } else {
        const v = value(key(i), 77, 150);
        writes.push(db.put(key(i), v));
        model.set(key(i), v);
      }
    }
    await Promise.all([gc, ...writes]);
    await db.gcValueLog();
    expect(await contents(db)).toEqual(modelContents(model));
    await db.close();
    const db2 = await openDB("/db", opts(fs));
    expect(await contents(db2)).toEqual(modelContents(model));
    await db2.close();
  });

  test("when the active file holds the most garbage it is sealed and collected", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs, { vlogFileBytes: 1024 * 1024 }));
    const model = new Map<string, Uint8Array>();
    await churn(db, 3, model);
    expect(fs.list("/db").filter((n) => n.endsWith(".vlog")).length).toBe(1);
    const r = await db.gcValueLog();
    expect(r.filesDeleted).toBe(1);
    expect(await contents(db)).toEqual(modelContents(model));
    await db.close();
  });

  test("a full disk during GC fails it with a typed error and loses nothing; GC works once there is room", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 2 });
    const db = await openDB("/db", opts(fs));
    const model = new Map<string, Uint8Array>();
    // Every other key overwritten: the first files are half garbage, half values GC must move.
    for (let r = 0; r < 2; r++) {
      for (let i = 0; i < 200; i += r + 1) {
        const v = value(key(i), r, 200);
        await db.put(key(i), v);
        model.set(key(i), v);
      }
    }
    await db.compact();
    fs.inject({ op: "write", pathIncludes: ".vlog", every: true, error: "ENOSPC" });
    await expect(db.gcValueLog({ minGarbageRatio: 0.4 })).rejects.toBeInstanceOf(IOError);
    expect(await contents(db)).toEqual(modelContents(model));
    fs.clear();
    const r = await db.gcValueLog({ minGarbageRatio: 0.4 });
    expect(r.recordsMoved).toBeGreaterThan(0);
    expect(r.filesDeleted).toBeGreaterThan(0);
    expect(await contents(db)).toEqual(modelContents(model));
    await db.close();
    const db2 = await openDB("/db", opts(mem));
    expect(await contents(db2)).toEqual(modelContents(model));
    expect((await db2.verify()).ok).toBe(true);
    await db2.close();
  });

  test("a crash at any FS call of GC recovers to the same contents", async () => {
    // Probe: how many FS calls the GC phase makes.
    const base = new MemFileSystem();
    const model = new Map<string, Uint8Array>();
    const db0 = await openDB("/db", opts(base));
    await churn(db0, 3, model);
    await db0.close();
    const probe = base.clone();
    const dbp = await openDB("/db", opts(probe));
    const startCalls = probe.callCount;
    const probeReport = await dbp.gcValueLog();
    expect(probeReport.recordsMoved).toBeGreaterThan(0);
    expect(probeReport.filesDeleted).toBeGreaterThan(0);
    const gcCalls = probe.callCount - startCalls;
    await dbp.close();
    expect(gcCalls).toBeGreaterThan(20);
    const want = modelContents(model);
    console.info(`GC crash test: ${gcCalls} FS calls, a crash at every one`);
    for (let n = 1; n <= gcCalls; n++) {
      const fs = base.clone();
      const db = await openDB("/db", opts(fs));
      fs.armCrash(n, n);
      await db.gcValueLog().catch(() => undefined);
      await db.close().catch(() => undefined);
      const survivor = fs.lastCrash() ?? fs.crash(n);
      const db2 = await openDB("/db", opts(survivor));
      expect(await contents(db2), `crash at GC call ${n}/${gcCalls}`).toEqual(want);
      expect((await db2.verify()).ok, `verify after crash at ${n}`).toBe(true);
      // And GC still completes on the survivor.
      await db2.gcValueLog();
      expect(await contents(db2)).toEqual(want);
      await db2.close();
    }
  });

  test("model: random puts, deletes, GC steps, compactions and reopens equal a Map", async () => {
    const op = fc.oneof(
      { weight: 6, arbitrary: fc.record({ t: fc.constant("put" as const), k: fc.nat(15), n: fc.oneof(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 64, max: 400 })) }) },
      { weight: 2, arbitrary: fc.record({ t: fc.constant("del" as const), k: fc.nat(15) }) },
      { weight: 1, arbitrary: fc.record({ t: fc.constant("gc" as const), bytes: fc.integer({ min: 1, max: 20_000 }) }) },
      { weight: 1, arbitrary: fc.constant({ t: "compact" as const }) },
      { weight: 1, arbitrary: fc.constant({ t: "reopen" as const }) },
    );
    let moved = 0;
    let deleted = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 30, maxLength: 150, size: "max" }), async (ops) => {
        const fs = new MemFileSystem();
        let db = await openDB("/db", opts(fs, { vlogFileBytes: 2048, memtableBytes: 4096 }));
        const model = new Map<string, Uint8Array>();
        let version = 0;
        for (const o of ops) {
          if (o.t === "put") {
            const v = value(key(o.k), ++version, o.n);
            await db.put(key(o.k), v);
            model.set(key(o.k), v);
          } else if (o.t === "del") {
            await db.delete(key(o.k));
            model.delete(key(o.k));
          } else if (o.t === "gc") {
            const r = await db.gcValueLog({ maxBytes: o.bytes, minGarbageRatio: 0.2 });
            moved += r.recordsMoved;
            deleted += r.filesDeleted;
          } else if (o.t === "compact") {
            await db.compact();
          } else {
            await db.close();
            db = await openDB("/db", opts(fs, { vlogFileBytes: 2048, memtableBytes: 4096 }));
          }
        }
        await db.gcValueLog({ minGarbageRatio: 0.01 });
        for (const [k, v] of model) expect(await db.get(k)).toEqual(v);
        expect(await contents(db)).toEqual(modelContents(model));
        expect((await db.verify()).ok).toBe(true);
        await db.close();
      }),
      { numRuns: 25 },
    );
    // The runs really moved values and deleted files.
    console.info(`GC model runs: ${moved} values moved, ${deleted} files deleted`);
    expect(moved).toBeGreaterThan(0);
    expect(deleted).toBeGreaterThan(0);
  });

  test("a damaged key byte in a live record never lets GC delete the file: it is reported and kept", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    // The first file: 10 live values and 30 overwritten ones, so it is worth collecting.
    for (let i = 0; i < 40; i++) await db.put(key(i), value(key(i), 0, 200));
    for (let i = 10; i < 40; i++) await db.put(key(i), value(key(i), 1, 200));
    await db.compact();
    const first = fs.list("/db").filter((n) => n.endsWith(".vlog")).sort()[0]!;
    // Record 0 (key0000) starts after the 28-byte header; its key starts 22 bytes into the record.
    fs.flipBit(`/db/${first}`, 28 + 22 + 3, 0);
    const r = await db.gcValueLog({ minGarbageRatio: 0.3 });
    expect(r.problems.length).toBeGreaterThan(0);
    expect(fs.list("/db")).toContain(first);
    await expect(db.get(key(0))).rejects.toThrow(/value-log/);
    for (let i = 1; i < 40; i++) expect(await db.get(key(i))).toEqual(value(key(i), i < 10 ? 0 : 1, 200));
    await db.close();
  });
});
