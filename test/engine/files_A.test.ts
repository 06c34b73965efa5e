import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { NotFoundError } from "../../src/errors.ts";
import { MemFileSystem } from "../../src/platform/mem-fs.ts";
import { listDbFiles, maxFileNumber, parseDamagedLogName, parsePreRepairLogName, type DbFiles } from "../../src/engine/files.ts";
import { manifestFileName } from "../../src/engine/manifest/manifest-format.ts";
import { vlogFileName } from "../../src/engine/vlog/format.ts";
import { tableFileName } from "../../src/engine/sstable/format.ts";
import { walFileName } from "../../src/engine/wal/format.ts";

const DIR = "/db";

function fsWith(names: Iterable<string>): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  for (const name of names) fs.open(`${DIR}/${name}`, { create: true }).close();
  return fs;
}

function classify(names: Iterable<string>): DbFiles {
  return listDbFiles(fsWith(names), DIR);
}

/** Every name of the listing lands in exactly one class: the classes' sizes add up. */
function classifiedCount(f: DbFiles, names: Set<string>): number {
  const known = (names.has("LOCK") ? 1 : 0) + (names.has("LOCK.break") ? 1 : 0);
  return f.logs.length + f.tables.length + f.vlogs.length + f.manifests.length + (f.current ? 1 : 0) + (f.currentTmp ? 1 : 0) +
    f.damaged.length + f.preRepair.length + f.unknown.length + known;
}

describe("listDbFiles", () => {
  test("classifies each kind of name", () => {
    const f = classify([
      "000007.log", "000003.log", "000012.sst", "000002.sst", "1234567.sst", "000009.vlog", "2345678.vlog", "MANIFEST-000005", "CURRENT", "CURRENT.tmp",
      "LOCK", "LOCK.break", "000003.log.damaged-4096", "000001.log.pre-repair", "notes.txt",
    ]);
    expect(f).toEqual({
      logs: [3, 7], tables: [2, 12, 1234567], vlogs: [9, 2345678], manifests: [5], current: true, currentTmp: true,
      damaged: ["000003.log.damaged-4096"], preRepair: ["000001.log.pre-repair"], unknown: ["notes.txt"],
    });
    expect(maxFileNumber(f)).toBe(2345678);
  });

  test("an empty directory", () => {
    const f = classify([]);
    expect(f).toEqual({ logs: [], tables: [], vlogs: [], manifests: [], current: false, currentTmp: false, damaged: [], preRepair: [], unknown: [] });
    expect(maxFileNumber(f)).toBe(0);
  });

  test("names that almost match are unknown", () => {
    const near = [
      "00001.log", "000001.logx", "000001.log.", "x000001.log", "000001.LOG", "0000001.log", "000001.sst.tmp", "00001.sst",
      "MANIFEST-", "MANIFEST-1", "MANIFEST-0000001", "manifest-000001", "MANIFEST-000001.tmp", "CURRENT.", "current",
      "CURRENT.tmp.tmp", "LOCKS", "LOCK.break.x", "000001.log.damaged-", "000001.log.damaged-01", "000001.log.damaged--1",
      "000001.log.damaged-1x", "00001.log.damaged-5", "000001.sst.damaged-5", "000001.log.pre-repair.x", "00001.log.pre-repair",
      "000001.sst.pre-repair", ".log", "99999999999999999.log", "9999999999999999.sst", "00001.vlog", "000001.vlog.tmp", "000001.VLOG", "000001.log.damaged-99999999999999999",
    ];
    const f = classify(near);
    expect(f.unknown).toEqual([...near].sort());
    expect(maxFileNumber(f)).toBe(0);
  });

  test("maxFileNumber counts retired and damaged logs too", () => {
    expect(maxFileNumber(classify(["000004.log", "000009.log.pre-repair"]))).toBe(9);
    expect(maxFileNumber(classify(["000004.sst", "000011.log.damaged-77"]))).toBe(11);
    expect(maxFileNumber(classify(["MANIFEST-000020", "000004.sst"]))).toBe(20);
  });

  test("a missing directory is NotFoundError from the file system", () => {
    expect(() => listDbFiles(new MemFileSystem(), "/nope")).toThrow(NotFoundError);
  });

  test("the helper parsers", () => {
    expect(parseDamagedLogName("000003.log.damaged-0")).toEqual({ logNumber: 3, offset: 0 });
    expect(parseDamagedLogName("1000000.log.damaged-123")).toEqual({ logNumber: 1000000, offset: 123 });
    expect(parseDamagedLogName("000003.log")).toBeUndefined();
    expect(parsePreRepairLogName("000042.log.pre-repair")).toBe(42);
    expect(parsePreRepairLogName("000042.log")).toBeUndefined();
  });
});

describe("listDbFiles properties", () => {
  const fileNumber = fc.oneof(fc.nat(2000), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }));
  const wellFormed = fc.oneof(
    fileNumber.map((n) => ({ name: walFileName(n), kind: "log" as const, n })),
    fileNumber.map((n) => ({ name: tableFileName(n), kind: "table" as const, n })),
    fileNumber.map((n) => ({ name: vlogFileName(n), kind: "vlog" as const, n })),
    fileNumber.map((n) => ({ name: manifestFileName(n), kind: "manifest" as const, n })),
    fc.tuple(fileNumber, fc.nat()).map(([n, off]) => ({ name: `${walFileName(n)}.damaged-${off}`, kind: "damaged" as const, n })),
    fileNumber.map((n) => ({ name: `${walFileName(n)}.pre-repair`, kind: "preRepair" as const, n })),
  );
  const nameChars = fc.constantFrom(..."0123456789.-_logsstMANIFESTCURRENTtmpLOCKbreakdamagedprerepairxX");
  const randomName = fc.oneof(
    fc.string({ unit: nameChars, minLength: 1, maxLength: 24 }),
    fc.string({ minLength: 1, maxLength: 24 }).filter((s) => !s.includes("/")),
    wellFormed.chain((w) => fc.string({ unit: nameChars, maxLength: 3 }).map((junk) => w.name + junk)),
  ).filter((s) => s !== "." && s !== "..");

  test("well-formed names classify to their number exactly", () => {
    fc.assert(fc.property(fc.array(wellFormed, { maxLength: 30 }), (entries) => {
      const byName = new Map(entries.map((e) => [e.name, e]));
      const f = classify(byName.keys());
      const expected = (kind: string): number[] => [...byName.values()].filter((e) => e.kind === kind).map((e) => e.n).sort((a, b) => a - b); // A
      expect(f.logs).toEqual(expected("log"));
      expect(f.tables).toEqual(expected("table"));
      expect(f.vlogs).toEqual(expected("vlog"));
      expect(f.manifests).toEqual(expected("manifest"));
      expect(f.damaged.length).toBe(expected("damaged").length);
      expect(f.preRepair.length).toBe(expected("preRepair").length);
      expect(f.unknown).toEqual([]);
      expect(maxFileNumber(f)).toBe(Math.max(0, ...[...byName.values()].map((e) => e.n)));
    }));
  });

  test("random names: never throws, each name in exactly one class, classified names round-trip", () => {
    fc.assert(fc.property(fc.uniqueArray(randomName, { maxLength: 30 }), (names) => {
      const set = new Set(names);
      const f = classify(set);
      expect(classifiedCount(f, set)).toBe(set.size);
      for (const n of f.logs) expect(set.has(walFileName(n))).toBe(true);
      for (const n of f.tables) expect(set.has(tableFileName(n))).toBe(true);
      for (const n of f.manifests) expect(set.has(manifestFileName(n))).toBe(true);
      for (const list of [f.logs, f.tables, f.manifests]) {
        for (let i = 1; i < list.length; i++) expect(list[i - 1]!).toBeLessThan(list[i]!);
      }
      expect(f.current).toBe(set.has("CURRENT"));
      expect(f.currentTmp).toBe(set.has("CURRENT.tmp"));
      expect(Number.isSafeInteger(maxFileNumber(f))).toBe(true);
    }), { numRuns: 300 });
  });
});
