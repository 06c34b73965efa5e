import { describe, expect, test } from "vitest";
import { CorruptionError, MemFileSystem, WriteBatch, openDB, silentLog, type ClusterLog } from "../../src/index.ts";
import { sealWalRecord, WAL_FILE_HEADER_BYTES, WAL_RECORD_HEADER_BYTES, walFileName } from "../../src/engine/wal/format.ts";
import { WalWriter } from "../../src/engine/wal/writer.ts";
import { collect, dec, killedCopy, onlyLog } from "../support/tmp.ts";

/** Writes logs directly: each log is a list of batches of [key, value] puts; returns record offsets per log. */
function writeLogs(fs: MemFileSystem, logs: Array<Array<Array<[string, string]>>>): number[][] {
  fs.mkdir("/db", { recursive: true });
  let seq = 1;
  const offsets: number[][] = [];
  logs.forEach((batches, i) => {
    const w = WalWriter.create(fs, "/db", i + 1, 0x5eed + i);
    const offs: number[] = [];
    for (const entries of batches) {
      const b = new WriteBatch();
      for (const [k, v] of entries) b.put(k, v);
      const rec = b.toRecord();
      sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, seq, w.checksumSeed);
      seq += entries.length;
      offs.push(w.size);
      w.append(rec);
    }
    w.close();
    offsets.push(offs);
  });
  return offsets;
}

function loggingTo(records: string[]): ClusterLog {
  const log = silentLog();
  log.subscribe((r) => void records.push(`${r.level}:${r.event}`));
  return log;
}

const batchesOf = (n: number, tag: string): Array<Array<[string, string]>> =>
  Array.from({ length: n }, (_, i) => [[`${tag}${i}`, `v${i}`], [`${tag}${i}b`, `w${i}`]]);

describe("WAL recovery", () => {
  test("several logs replay in order", async () => {
    const fs = new MemFileSystem();
    writeLogs(fs, [batchesOf(3, "a"), batchesOf(3, "b")]);
    const db = await openDB("/db", { fs, log: silentLog() });
    expect((await collect(db.iterate())).length).toBe(12);
    expect(db.stats().sequence).toBe(12);
    await db.put("c", "new");
    await db.close();
    const fs2 = fs; // appended to the newest log
    const again = await openDB("/db", { fs: fs2, log: silentLog() });
    expect(dec(await again.get("c"))).toBe("new");
    await again.close();
  });

  test("a torn tail of the newest log is cut and writing continues", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(5, "k")]);
    const path = `/db/${walFileName(1)}`;
    const h = fs.open(path);
    const size = h.size();
    h.truncate(size - 3); // the last record lost its last bytes
    h.close();
    const events: string[] = [];
    const db = await openDB("/db", { fs, log: loggingTo(events) });
    expect(events).toContain("warn:wal.torn-tail");
    expect(dec(await db.get("k3"))).toBe("v3");
    expect(await db.get("k4")).toBeUndefined();
    expect(db.stats().walBytes).toBe(offs![4]);
    await db.put("after", "x");
    await db.close();
    const again = await openDB("/db", { fs, log: silentLog() });
    expect(dec(await again.get("after"))).toBe("x");
    expect(dec(await again.get("k3b"))).toBe("w3");
    await again.close();
  });

  test("a log cut inside its header is started again", async () => {
    const fs = new MemFileSystem();
    writeLogs(fs, [[]]);
    const h = fs.open(`/db/${walFileName(1)}`);
    h.truncate(WAL_FILE_HEADER_BYTES - 5);
    h.close();
    const db = await openDB("/db", { fs, log: silentLog() });
    await db.put("k", "v");
    await db.close();
    const again = await openDB("/db", { fs, log: silentLog() });
    expect(dec(await again.get("k"))).toBe("v");
    await again.close();
  });

  test("a flipped bit in the middle of the newest log: valid data after it is kept aside, not destroyed", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(6, "k")]);
    const path = `/db/${walFileName(1)}`;
    fs.flipBit(path, offs![2]! + WAL_RECORD_HEADER_BYTES + 6, 3);
    const events: string[] = [];
    const db = await openDB("/db", { fs, log: loggingTo(events) });
    expect(events).toContain("error:wal.damage");
    expect(dec(await db.get("k1"))).toBe("v1");
    expect(await db.get("k2")).toBeUndefined();
    const kept = fs.list("/db").filter((n) => n.includes(".damaged-"));
    expect(kept).toEqual([`${walFileName(1)}.damaged-${offs![2]}`]);
    expect(fs.readFile(`/db/${kept[0]}`).length).toBeGreaterThan(0);
    await db.close();
  });

  test("damage in an older log is a CorruptionError naming file and offset", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(4, "a"), batchesOf(2, "b")]);
    const path = `/db/${walFileName(1)}`;
    fs.flipBit(path, offs![1]! + 2, 0);
    const err = await openDB("/db", { fs, log: silentLog() }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CorruptionError);
    expect((err as CorruptionError).file).toBe(path);
    expect((err as CorruptionError).offset).toBe(offs![1]);
  });

  test("repair mode rewrites the salvaged state into a fresh log; a later normal open keeps it", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(4, "a")]);
    fs.flipBit(`/db/${walFileName(1)}`, offs![1]! + WAL_RECORD_HEADER_BYTES + 5, 1);
    let db = await openDB("/db", { fs, repair: true, log: silentLog() });
    await db.put("after", "x", { sync: true });
    await db.close();
    expect(fs.list("/db")).toContain(`${walFileName(1)}.pre-repair`);
    db = await openDB("/db", { fs, log: silentLog() });
    expect(dec(await db.get("a3"))).toBe("v3");
    expect(await db.get("a1")).toBeUndefined();
    expect(dec(await db.get("after"))).toBe("x");
    await db.close();
  });

  test("the log written by repair keeps tombstones (they must hide older values in tables)", async () => {
    let fs = new MemFileSystem();
    let db = await openDB("/db", { fs, log: silentLog() });
    const starts: number[] = [];
    for (const k of ["a0", "a1", "a2", "a3"]) {
      starts.push(db.stats().walBytes);
      await db.put(k, "v");
    }
    await db.delete("a2");
    expect((await db.verify()).files[0]!.records).toBe(5);
    fs = await killedCopy(db, fs);
    fs.flipBit(onlyLog(fs), starts[1]! + WAL_RECORD_HEADER_BYTES + 3, 0); // damage a1's record
    db = await openDB("/db", { fs, repair: true, log: silentLog() });
    const report = await db.verify();
    expect(report.files.filter((f) => f.kind === "wal").length).toBe(1);
    expect(report.files[0]!.entries).toBe(3); // a0 and a3 as puts, a2 as a tombstone
    expect(await db.get("a2")).toBeUndefined();
    await db.close();
  });

  test("repair mode skips the damaged record and keeps the rest", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(4, "a"), batchesOf(2, "b")]);
    fs.flipBit(`/db/${walFileName(1)}`, offs![1]! + WAL_RECORD_HEADER_BYTES + 5, 1);
    const events: string[] = [];
    const db = await openDB("/db", { fs, repair: true, log: loggingTo(events) });
    expect(dec(await db.get("a0"))).toBe("v0");
    expect(await db.get("a1")).toBeUndefined();
    expect(dec(await db.get("a2"))).toBe("v2");
    expect(dec(await db.get("b1b"))).toBe("w1");
    expect(events.some((e) => e.includes("wal.damage"))).toBe(true);
    await db.close();
  });

  test("verify() reports a flipped bit per file and keeps going", async () => {
    const fs = new MemFileSystem();
    const [offs] = writeLogs(fs, [batchesOf(4, "a"), batchesOf(2, "b")]);
    const db = await openDB("/db", { fs, log: silentLog() });
    expect((await db.verify()).ok).toBe(true);
    fs.flipBit(`/db/${walFileName(1)}`, offs![3]! + WAL_RECORD_HEADER_BYTES + 1, 7);
    const report = await db.verify();
    expect(report.ok).toBe(false);
    expect(report.files[0]!.problems.length).toBe(1);
    expect(report.files[0]!.problems[0]).toContain(`offset ${offs![3]}`);
    expect(report.files[1]!.problems).toEqual([]);
    expect(report.files[1]!.records).toBe(2);
    await db.close();
  });

  test("a sequence number going backwards is corruption", async () => {
    const fs = new MemFileSystem();
    fs.mkdir("/db", { recursive: true });
    const w = WalWriter.create(fs, "/db", 1, 42);
    for (const seq of [5, 3]) {
      const rec = new WriteBatch().put("k", "v").toRecord();
      sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, seq, w.checksumSeed);
      w.append(rec);
    }
    w.close();
    await expect(openDB("/db", { fs, log: silentLog() })).rejects.toBeInstanceOf(CorruptionError);
  });
});
