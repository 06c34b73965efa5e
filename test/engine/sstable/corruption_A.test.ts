import { describe, expect, test } from "vitest";
import { CorruptionError } from "../../../src/errors.ts";
import { TableReader } from "../../../src/engine/sstable/table-reader.ts";
import { buildTable, FILE_NUMBER, MapCache, openTable, simpleEntries, TABLE_PATH, TableModel } from "./sstable-helpers.ts";

const entries = simpleEntries(120, 3, 20);
const model = new TableModel(entries);

function expectCorruption(fn: () => unknown, offset?: number): CorruptionError {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(CorruptionError);
  const err = caught as CorruptionError;
  expect(err.file).toBe(TABLE_PATH);
  if (offset !== undefined) expect(err.offset).toBe(offset);
  return err;
}

describe("sstable damage is reported, never a wrong answer", () => {
  test("a flipped bit in any data block: get, cursor, entries() and verify() report it", () => {
    const { fs, props } = buildTable(entries, { blockBytes: 256, restartInterval: 4 });
    const clean = openTable(fs);
    const blocks = clean.blockCount;
    expect(blocks).toBeGreaterThan(10);
    for (let bi = 0; bi < blocks; bi++) {
      const start = clean.blockOffset(bi)!;
      const end = bi + 1 < blocks ? clean.blockOffset(bi + 1)! : props.dataBytes;
      // Spread the flips over the block: contents, restart array and trailer.
      const at = start + ((bi * 37) % (end - start));
      fs.flipBit(TABLE_PATH, at, bi % 8);
      const t = openTable(fs, new MapCache());
      const inBlock = model.keys.filter((k) => clean.findBlock(k) === bi);
      expect(inBlock.length).toBeGreaterThan(0);
      for (const k of inBlock) expectCorruption(() => t.get(k, Number.MAX_SAFE_INTEGER), start);
      expectCorruption(() => {
        const c = t.cursor();
        for (c.seekFirst(); c.valid(); c.next()) c.visible(Number.MAX_SAFE_INTEGER);
      }, start);
      expectCorruption(() => {
        const c = t.cursor();
        for (c.seekLast(); c.valid(); c.prev()) c.visible(1);
      }, start);
      expectCorruption(() => [...t.entries()], start);
      const report = t.verify();
      expect(report.problems.length).toBe(1);
      expect(report.problems[0]).toContain(TABLE_PATH);
      expect(report.problems[0]).toContain(`offset ${start}`);
      // Keys in other blocks still read right.
      const other = model.keys.find((k) => clean.findBlock(k) !== bi && clean.findBlock(k) !== bi - 1)!;
      expect(t.get(other, Number.MAX_SAFE_INTEGER)?.seq).toBe(model.get(other, Number.MAX_SAFE_INTEGER)?.seq);
      t.close();
      fs.flipBit(TABLE_PATH, at, bi % 8);
    }
    clean.close();
  });

  test("every bit position of one block is caught (contents, restarts, trailer)", () => {
    const { fs } = buildTable(entries, { blockBytes: 128, restartInterval: 2 });
    const clean = openTable(fs);
    const start = clean.blockOffset(3)!;
    const end = clean.blockOffset(4)!;
    const key = model.keys.find((k) => clean.findBlock(k) === 3)!;
    for (let at = start; at < end; at++) {
      for (let bit = 0; bit < 8; bit++) {
        fs.flipBit(TABLE_PATH, at, bit);
        const t = openTable(fs);
        expectCorruption(() => t.get(key, Number.MAX_SAFE_INTEGER), start);
        expect(t.verify().problems.length).toBe(1);
        t.close();
        fs.flipBit(TABLE_PATH, at, bit);
      }
    }
    clean.close();
  });

  test("a flipped bit anywhere in index, filter, properties or footer fails open", () => {
    const { fs, props } = buildTable(entries.slice(0, 60), { blockBytes: 256 });
    for (let at = props.dataBytes; at < props.fileBytes; at++) {
      const bit = at % 8;
      fs.flipBit(TABLE_PATH, at, bit);
      expectCorruption(() => openTable(fs));
      fs.flipBit(TABLE_PATH, at, bit);
    }
    openTable(fs).close();
  });

  test("damage under a cached block: reads stay right from the cache, verify() re-reads the file and reports", () => {
    const { fs } = buildTable(entries, { blockBytes: 256 });
    const cache = new MapCache();
    const t = openTable(fs, cache);
    const key = model.keys[5]!;
    const want = t.get(key, Number.MAX_SAFE_INTEGER);
    fs.flipBit(TABLE_PATH, t.blockOffset(t.findBlock(key))! + 3, 1);
    expect(t.get(key, Number.MAX_SAFE_INTEGER)).toEqual(want);
    expect(t.verify().problems).toHaveLength(1);
    t.close();
  });

  test("truncated files, junk appended, wrong file number and bad magic fail open", () => {
    const { fs, props } = buildTable(entries, { blockBytes: 512 });
    const whole = fs.readFile(TABLE_PATH);
    for (const n of [0, 1, 59, 60, 61, props.dataBytes, props.fileBytes - 1]) {
      const h = fs.open(TABLE_PATH, { truncate: true });
      h.write(whole.subarray(0, n), 0);
      h.close();
      expectCorruption(() => openTable(fs));
    }
    const h = fs.open(TABLE_PATH, { truncate: true });
    h.write(whole, 0);
    h.write(new Uint8Array(10), whole.length);
    h.close();
    expectCorruption(() => openTable(fs));
    h.close();
    const g = fs.open(TABLE_PATH, { truncate: true });
    g.write(whole, 0);
    g.close();
    expect(() => TableReader.open(fs, TABLE_PATH, FILE_NUMBER + 1)).toThrow(/file number/);
    fs.flipBit(TABLE_PATH, whole.length - 1, 0);
    expect(() => openTable(fs)).toThrow(/magic/);
  });
});
