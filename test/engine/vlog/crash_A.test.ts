import { describe, expect, test } from "vitest";
import { CorruptionError, CrashedError, IOError } from "../../../src/errors.ts";
import { samePointer, type ValuePointer } from "../../../src/engine/vlog/pointer.ts";
import { readValue } from "../../../src/engine/vlog/reader.ts";
import { ValueLogBrokenError, ValueLogWriter } from "../../../src/engine/vlog/writer.ts";
import { FaultFileSystem } from "../../../src/platform/fault-fs.ts";
import type { FileSystem } from "../../../src/platform/fs.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { FILE_NUMBER, PATH, newFs, recs, scanFile, type Rec, type Written } from "./vlog-helpers.ts";

const GROUPS: Rec[][] = [recs(3, 200), recs(1, 5000), recs(4, 50), recs(2, 700)].map((g, gi) => g.map((r, i) => ({ ...r, key: `${r.key}/${gi}`, seq: gi * 10 + i + 1 })));

interface Outcome {
  flushed: Written[];
  synced: Written[];
}

/** Appends, flushes and (every other group) syncs GROUPS; stops at the first error, recording what had returned. */
async function script(fs: FileSystem, out: Outcome): Promise<void> {
  const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 0xabc);
  for (let g = 0; g < GROUPS.length; g++) {
    const group = GROUPS[g]!.map((r) => ({ ...r, pointer: w.append(r.key, r.seq, r.value) }));
    w.flush();
    out.flushed.push(...group);
    if (g % 2 === 1 || g === GROUPS.length - 1) {
      await w.sync();
      out.synced = [...out.flushed];
    }
  }
  w.close();
}

function checkSurvivor(fs: MemFileSystem, out: Outcome, where: string): void {
  if (fs.stat(PATH) === undefined) {
    expect(out.synced, `${where}: file lost although a sync returned`).toEqual([]);
    return;
  }
  const { records, end } = scanFile(fs);
  expect(end.status, `${where}: ${end.error?.message ?? ""}`).not.toBe("corrupt");
  expect(records.length).toBeLessThanOrEqual(out.flushed.length);
  records.forEach((r, i) => expect(samePointer(r.pointer, out.flushed[i]!.pointer), where).toBe(true));
  expect(records.length).toBeGreaterThanOrEqual(out.synced.length);
  const h = fs.open(PATH, { readOnly: true });
  for (const s of out.synced) expect(readValue(h, s.pointer, { key: s.key, seq: s.seq })).toEqual(s.value);
  h.close();
  // Recovery continues the file: the tail is cut, old and new records read back.
  const { writer, scan } = ValueLogWriter.reopen(fs, PATH, FILE_NUMBER, 5);
  expect(scan.records).toBe(records.length);
  const p = writer.append("after", 999, new Uint8Array([1, 2, 3]));
  writer.flush();
  writer.close();
  const again = scanFile(fs);
  expect(again.end.status).toBe("clean");
  expect(again.records.map((r) => r.key)).toEqual([...records.map((r) => r.key), "after"]);
  const h2 = fs.open(PATH, { readOnly: true });
  expect(readValue(h2, p, "after")).toEqual(new Uint8Array([1, 2, 3]));
  h2.close();
}

describe("value log under crashes and faults", () => {
  test("a power loss at every FS call of append/flush/sync: the survivor holds a prefix of the flushed records and every synced one", async () => {
    const probe = newFs();
    const base = probe.callCount;
    await script(probe, { flushed: [], synced: [] });
    const calls = probe.callCount - base;
    expect(calls).toBeGreaterThan(6);
    let crashes = 0;
    for (let n = 1; n <= calls + 1; n++) {
      for (let seed = 0; seed < 4; seed++) {
        const fs = newFs();
        const out: Outcome = { flushed: [], synced: [] };
        fs.armCrash(n, seed * 7919 + n);
        try {
          await script(fs, out);
        } catch (e) {
          if (!(e instanceof CrashedError) && !(e instanceof ValueLogBrokenError && e.cause instanceof CrashedError)) throw e;
        }
        const survivor = fs.lastCrash() ?? fs.crash(seed);
        if (fs.lastCrash() !== undefined) crashes++;
        checkSurvivor(survivor, out, `crash at call ${n}, seed ${seed}`);
      }
    }
    expect(crashes).toBeGreaterThan(calls * 3);
  });

  for (const errno of ["EIO", "ENOSPC"]) {
    test(`a failed write (${errno}, short) breaks the writer; it names the durable end; the synced records stay readable`, async () => {
      const mem = newFs();
      const fs = new FaultFileSystem(mem, { seed: 3 });
      const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1);
      const first = recs(3).map((r) => ({ ...r, pointer: w.append(r.key, r.seq, r.value) }));
      w.flush();
      await w.sync();
      const durable = w.durableEndBytes;
      expect(durable).toBe(w.size);
      expect(first.every((r) => w.isDurable(r.pointer))).toBe(true);
      const late = w.append("late", 50, new Uint8Array(4000));
      expect(w.isDurable(late)).toBe(false);
      fs.inject({ op: "write", error: errno, shortWrite: true });
      let err: unknown;
      try { w.flush(); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(ValueLogBrokenError);
      expect(err).toBeInstanceOf(IOError);
      const broken = err as ValueLogBrokenError;
      expect(broken.errno).toBe(errno);
      expect(broken.durableEndBytes).toBe(durable);
      expect(broken.message).toContain(PATH);
      expect(w.brokenError).toBe(broken);
      expect(() => w.append("x", 51, new Uint8Array(10))).toThrow(broken);
      expect(() => w.flush()).toThrow(broken);
      await expect(w.sync()).rejects.toBe(broken);
      w.close();
      // What the broken writer left: the synced records, then at most a torn prefix of the failed write.
      const { records, end } = scanFile(mem);
      expect(end.status).not.toBe("corrupt");
      expect(records.map((r) => r.seq)).toEqual(first.map((r) => r.seq));
      const h = mem.open(PATH, { readOnly: true });
      for (const r of first) expect(readValue(h, r.pointer, r.key)).toEqual(r.value);
      expect(() => readValue(h, late)).toThrow(CorruptionError);
      h.close();
      const { truncatedBytes, scan } = ValueLogWriter.reopen(mem, PATH, FILE_NUMBER, 1);
      expect(scan.validEndBytes).toBe(durable);
      expect(truncatedBytes).toBe(end.fileSizeBytes - durable);
    });
  }

  test("a failed fsync breaks the writer: pointers past the last good sync are reported as maybe lost", async () => {
    const mem = newFs();
    const fs = new FaultFileSystem(mem);
    const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1);
    const a = w.append("a", 1, new Uint8Array(100));
    w.flush();
    await w.sync();
    const b = w.append("b", 2, new Uint8Array(100));
    w.flush();
    fs.inject({ op: "sync" });
    const err = await w.sync().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ValueLogBrokenError);
    const broken = err as ValueLogBrokenError;
    expect(broken.durableEndBytes).toBe(a.offset + a.length);
    expect(a.offset + a.length <= broken.durableEndBytes).toBe(true);
    expect(b.offset + b.length <= broken.durableEndBytes).toBe(false);
    expect(w.isDurable(a)).toBe(true);
    expect(w.isDurable(b)).toBe(false);
    expect(() => w.append("c", 3, new Uint8Array(1))).toThrow(broken);
    w.close();
  });

  test("a failed directory fsync on the first sync breaks the writer too (the name may not survive)", async () => {
    const fs = new FaultFileSystem(newFs());
    const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1);
    w.append("a", 1, new Uint8Array(10));
    w.flush();
    fs.inject({ op: "syncDir" });
    await expect(w.sync()).rejects.toBeInstanceOf(ValueLogBrokenError);
    expect(w.durableEndBytes).toBe(0);
    w.close();
  });

  test("reopen: refuses a file damaged in the middle (nothing changed), starts over a torn header, checks the start offset", () => {
    const fs = newFs();
    const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1);
    const ps: ValuePointer[] = [];
    for (let i = 0; i < 4; i++) ps.push(w.append(`k${i}`, i + 1, new Uint8Array(300).fill(i)));
    w.flush();
    w.close();
    const size = fs.stat(PATH)!.sizeBytes;
    fs.flipBit(PATH, ps[1]!.offset + 100, 0);
    expect(() => ValueLogWriter.reopen(fs, PATH, FILE_NUMBER, 1)).toThrow(CorruptionError);
    expect(fs.stat(PATH)!.sizeBytes).toBe(size);
    const scan = scanFile(fs);
    expect(scan.end).toMatchObject({ status: "corrupt", validEndBytes: ps[1]!.offset, nextValidOffset: ps[2]!.offset });
    expect(scan.end.error!.offset).toBe(ps[1]!.offset);
    // Starting past the damage (a boundary the caller knows) is fine.
    const r = ValueLogWriter.reopen(fs, PATH, FILE_NUMBER, 1, { startOffset: ps[2]!.offset });
    expect(r.scan).toMatchObject({ status: "clean", records: 2 });
    r.writer.close();
    expect(() => ValueLogWriter.reopen(fs, PATH, FILE_NUMBER + 1, 1)).toThrow(/expected 8/);
    expect(() => ValueLogWriter.reopen(fs, PATH, FILE_NUMBER, 1, { startOffset: size + 1 })).toThrow(/shorter than the scan start/);
    const h = fs.open("/db/000009.vlog", { create: true });
    h.write(new Uint8Array([0x4f, 0x55, 0x52]), 0);
    h.close();
    const fresh = ValueLogWriter.reopen(fs, "/db/000009.vlog", 9, 77);
    expect(fresh.scan.status).toBe("torn");
    const p = fresh.writer.append("z", 1, new Uint8Array([9]));
    fresh.writer.flush();
    fresh.writer.close();
    const h9 = fs.open("/db/000009.vlog", { readOnly: true });
    expect(readValue(h9, p, "z")).toEqual(new Uint8Array([9]));
    h9.close();
  });
});
