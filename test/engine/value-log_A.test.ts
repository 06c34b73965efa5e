/**
 * The value log wired into the engine (SPEC.md, "Value log"): large values
 * leave the WAL and the tables, reads and iterators find them, flush and
 * compaction carry the pointers, and a crash never leaves a pointer to
 * bytes that did not survive (replay ends at such a record, so a batch is
 * still all or nothing).
 */
import { describe, expect, test } from "vitest";
import { CorruptionError, FaultFileSystem, IOError, MemFileSystem, SeededRandom, openDB, silentLog, type DB, type DBOptions, type FileSystem } from "../../src/index.ts";

const enc = new TextEncoder();
const THRESHOLD = 64;

function opts(fs: FileSystem, extra: DBOptions = {}): DBOptions {
  return { fs, log: silentLog(), random: new SeededRandom(3), valueThreshold: THRESHOLD, memtableBytes: 16 * 1024, ...extra };
}

/** A value of `n` bytes that names its key and a version. */
function value(key: string, version: number, n: number): Uint8Array {
  const v = new Uint8Array(n);
  const head = enc.encode(`${key}@${version}|`);
  v.set(head.subarray(0, n));
  for (let i = head.length; i < n; i++) v[i] = (i * 31 + version) & 255;
  return v;
}

/** Byte equality without the matcher's per-element cost (64 KiB values). */
function same(a: Uint8Array | undefined, b: Uint8Array): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function files(fs: MemFileSystem, suffix: string): string[] {
  return fs.list("/db").filter((n) => n.endsWith(suffix));
}

function totalBytes(fs: MemFileSystem, suffix: string): number {
  return files(fs, suffix).reduce((sum, n) => sum + fs.readFile(`/db/${n}`).length, 0);
}

async function all(db: DB): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  for await (const [k, v] of db.iterate()) out.set(new TextDecoder().decode(k), v);
  return out;
}

describe("value log in the engine", () => {
  test("large values go to .vlog files and come back through get, iterate, flush, compaction and reopen", async () => {
    const fs = new MemFileSystem();
    let db = await openDB("/db", opts(fs));
    const model = new Map<string, Uint8Array>();
    for (let i = 0; i < 300; i++) {
      const key = `k${String(i % 120).padStart(3, "0")}`;
      // Sizes straddle the threshold: 0..199 bytes.
      const v = value(key, i, (i * 37) % 200);
      await db.put(key, v);
      model.set(key, v);
      if (i % 50 === 49) await db.delete(`k${String(i % 7).padStart(3, "0")}`).then(() => model.delete(`k${String(i % 7).padStart(3, "0")}`));
    }
    expect(files(fs, ".vlog").length).toBeGreaterThan(0);
    for (const [k, v] of model) expect(await db.get(k), k).toEqual(v);
    await db.flush();
    await db.compact();
    expect((await db.verify()).ok).toBe(true);
    expect(await all(db)).toEqual(model);
    // The tables hold pointers, not the large values: far less than the values' bytes.
    const large = [...model.values()].filter((v) => v.length >= THRESHOLD).reduce((s, v) => s + v.length, 0);
    expect(large).toBeGreaterThan(10_000);
    expect(totalBytes(fs, ".sst")).toBeLessThan(large / 2);
    await db.close();
    db = await openDB("/db", opts(fs));
    expect(await all(db)).toEqual(model);
    for (const [k, v] of model) expect(await db.get(k), k).toEqual(v);
    // A snapshot keeps seeing the value a pointer named, after an overwrite.
    const snap = db.snapshot();
    const old = await db.get("k001");
    await db.put("k001", value("k001", 999, 150));
    expect(await db.get("k001", { snapshot: snap })).toEqual(old);
    snap.release();
    await db.close();
  });

  test("a WAL record whose value-log bytes did not survive ends replay there: the batch is absent whole, earlier writes stay", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    await db.put("before", value("before", 1, 200), { sync: true });
    const b = db.batch();
    b.put("small", value("small", 2, 10)).put("big", value("big", 2, 500)).delete("before");
    await db.write(b);
    await db.put("after", value("after", 3, 20));
    // A power loss that kept the WAL but not the value bytes of the batch: cut the newest .vlog back.
    const image = fs.clone();
    const vlogs = files(image, ".vlog").sort();
    const last = `/db/${vlogs[vlogs.length - 1]}`;
    const bytes = image.readFile(last);
    const h = image.open(last);
    h.truncate(bytes.length - 100);
    h.close();
    await db.close();
    const db2 = await openDB("/db", opts(image));
    expect(await db2.get("before")).toEqual(value("before", 1, 200));
    expect(await db2.get("small")).toBeUndefined();
    expect(await db2.get("big")).toBeUndefined();
    // Replay ended at the damaged record: the later write is gone too (a log is a prefix).
    expect(await db2.get("after")).toBeUndefined();
    expect(image.list("/db").some((n) => n.includes(".damaged-"))).toBe(true);
    expect((await db2.verify()).ok).toBe(true);
    await db2.put("again", value("again", 4, 300));
    await db2.close();
    const db3 = await openDB("/db", opts(image));
    expect(await db3.get("again")).toEqual(value("again", 4, 300));
    await db3.close();
  });

  test("a value-log file that vanished after flush is a CorruptionError on read, never a wrong value", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    await db.put("a", value("a", 1, 300));
    await db.put("b", value("b", 1, 5));
    await db.flush();
    await db.close();
    for (const n of files(fs, ".vlog")) fs.remove(`/db/${n}`);
    const db2 = await openDB("/db", opts(fs));
    expect(await db2.get("b")).toEqual(value("b", 1, 5));
    await expect(db2.get("a")).rejects.toBeInstanceOf(CorruptionError);
    await db2.close();
  });

  test("a failing value-log write rejects its write with a typed error, loses nothing else, and later writes go on", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 5 });
    const db = await openDB("/db", opts(fs));
    await db.put("x", value("x", 1, 100));
    fs.inject({ op: "write", pathIncludes: ".vlog", error: "ENOSPC" });
    await expect(db.put("y", value("y", 1, 100))).rejects.toBeInstanceOf(IOError);
    await db.put("z", value("z", 1, 100));
    await db.put("w", value("w", 1, 3));
    expect(await db.get("x")).toEqual(value("x", 1, 100));
    expect(await db.get("y")).toBeUndefined();
    expect(await db.get("z")).toEqual(value("z", 1, 100));
    await db.close();
    const db2 = await openDB("/db", opts(mem));
    expect(await db2.get("x")).toEqual(value("x", 1, 100));
    expect(await db2.get("y")).toBeUndefined();
    expect(await db2.get("z")).toEqual(value("z", 1, 100));
    expect(await db2.get("w")).toEqual(value("w", 1, 3));
    await db2.close();
  });

  test("sync writes make the value bytes durable too: a power loss right after keeps them", async () => {
    for (let seed = 0; seed < 20; seed++) {
      const fs = new MemFileSystem();
      const db = await openDB("/db", opts(fs));
      await db.put("p", value("p", 1, 300));
      await db.put("q", value("q", 1, 300), { sync: true });
      const image = fs.crash(seed);
      await db.close().catch(() => undefined);
      const db2 = await openDB("/db", opts(image));
      // q was acknowledged as durable, and p was written before it.
      expect(await db2.get("p"), `seed ${seed}`).toEqual(value("p", 1, 300));
      expect(await db2.get("q"), `seed ${seed}`).toEqual(value("q", 1, 300));
      await db2.close();
    }
  });

  test("verify scans every value-log record and resolves every live pointer; a flipped bit is reported per file", async () => {
    const fs = new MemFileSystem();
    const db = await openDB("/db", opts(fs));
    for (let i = 0; i < 20; i++) await db.put(`k${i}`, value(`k${i}`, i, 100 + i));
    await db.flush();
    const clean = await db.verify();
    expect(clean.ok).toBe(true);
    const vlogReports = clean.files.filter((f) => f.kind === "vlog");
    expect(vlogReports.reduce((n, f) => n + f.records, 0)).toBe(20);
    expect(clean.files.find((f) => f.kind === "pointers")!.records).toBe(20);
    await db.close();
    const name = files(fs, ".vlog")[0]!;
    // A bit inside the 5th record's value (records of k0..k4 are 22 + 2 + 100..104 bytes after the 28-byte header).
    fs.flipBit(`/db/${name}`, 28 + 4 * 126 + 60, 3);
    const db2 = await openDB("/db", opts(fs));
    const r = await db2.verify();
    expect(r.ok).toBe(false);
    expect(r.files.find((f) => f.kind === "vlog" && f.file.endsWith(name))!.problems.length).toBe(1);
    expect(r.files.find((f) => f.kind === "pointers")!.problems.length).toBe(1);
    await expect(db2.get("k4")).rejects.toBeInstanceOf(CorruptionError);
    expect(await db2.get("k3")).toEqual(value("k3", 3, 103));
    expect(await db2.get("k5")).toEqual(value("k5", 5, 105));
    await db2.close();
  });

  test("a failed background fsync of the value log fails the next sync write and turns the database read-only; nothing acknowledged is lost", async () => {
    const mem = new MemFileSystem();
    const fs = new FaultFileSystem(mem, { seed: 8 });
    const db = await openDB("/db", opts(fs, { memtableBytes: 64 * 1024 * 1024 }));
    fs.inject({ op: "sync", pathIncludes: ".vlog", error: "EIO" });
    const big = (i: number): Uint8Array => value(`k${i}`, i, 64 * 1024);
    // 160 x 64 KiB = 10 MiB: past the 8 MiB after which an fsync starts in the background.
    for (let i = 0; i < 160; i++) await db.put(`k${i}`, big(i));
    expect(fs.faultsFired("sync")).toBe(1);
    await expect(db.put("durable", "x", { sync: true })).rejects.toBeInstanceOf(IOError);
    await expect(db.put("later", "y")).rejects.toBeInstanceOf(Error);
    for (let i = 0; i < 160; i += 13) expect(same(await db.get(`k${i}`), big(i))).toBe(true);
    await db.close().catch(() => undefined);
    const db2 = await openDB("/db", opts(mem));
    for (let i = 0; i < 160; i++) expect(same(await db2.get(`k${i}`), big(i)), `k${i}`).toBe(true);
    expect(await db2.get("durable")).toBeUndefined();
    expect((await db2.verify()).ok).toBe(true);
    await db2.close();
  });
});
