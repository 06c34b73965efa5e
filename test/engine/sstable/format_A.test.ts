import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError } from "../../../src/errors.ts";
import {
  blockTrailer, checkBlock, decodeFooter, encodeFooter, parseTableFileName, SST_FOOTER_BYTES, tableFileName,
} from "../../../src/engine/sstable/format.ts";
import { decodeIndex, encodeIndex, findBlock, separatorKey } from "../../../src/engine/sstable/index-block.ts";
import { BlockBuilder } from "../../../src/engine/sstable/block-builder.ts";
import { BlockIter, BlockReader, decodeBlock } from "../../../src/engine/sstable/block-reader.ts";
import { concatBytes } from "../../../src/encoding/bytes.ts";
import { compareLatin1, keyArb } from "./sstable-helpers.ts";

describe("sstable format pieces", () => {
  test("file names", () => {
    expect(tableFileName(7)).toBe("000007.sst");
    expect(parseTableFileName("000007.sst")).toBe(7);
    expect(parseTableFileName("000007.log")).toBeUndefined();
  });

  test("footer round trip; any single bit flip is refused", () => {
    const footer = { index: { offset: 1000, length: 40 }, filter: { offset: 1045, length: 20 }, properties: { offset: 1070, length: 30 }, fileNumber: 2 ** 40 };
    const size = 1105 + SST_FOOTER_BYTES;
    const bytes = encodeFooter(footer);
    expect(decodeFooter(bytes, "t", size)).toEqual(footer);
    for (let i = 0; i < bytes.length * 8; i++) {
      const bad = bytes.slice();
      bad[i >> 3]! ^= 1 << (i & 7);
      expect(() => decodeFooter(bad, "t", size)).toThrow(CorruptionError);
    }
    expect(() => decodeFooter(bytes, "t", size + 1)).toThrow(/tile/);
  });

  test("block trailer: checksum and compression byte", () => {
    const contents = new Uint8Array([1, 2, 3, 4, 5]);
    const block = concatBytes([contents, blockTrailer(contents)]);
    expect(checkBlock(block.slice(), "t", 0)).toEqual(contents);
    const badCompression = block.slice();
    badCompression[5] = 1;
    expect(() => checkBlock(badCompression, "t", 0)).toThrow(CorruptionError);
    const flipped = block.slice();
    flipped[2]! ^= 4;
    expect(() => checkBlock(flipped, "t", 64)).toThrow(/offset 64/);
  });

  test("separatorKey(a, b) lies in [a, b) and is no longer than a", () => {
    fc.assert(
      fc.property(keyArb, keyArb, (x, y) => {
        if (x === y) {
          expect(separatorKey(x, y)).toBe(x);
          return;
        }
        const [a, b] = compareLatin1(x, y) < 0 ? [x, y] : [y, x];
        const s = separatorKey(a, b);
        expect(compareLatin1(a, s)).toBeLessThanOrEqual(0);
        expect(compareLatin1(s, b)).toBeLessThan(0);
        expect(s.length).toBeLessThanOrEqual(a.length);
      }),
      { numRuns: 2000 },
    );
    expect(separatorKey("abcdef", "abzz")).toBe("abd");
    expect(separatorKey("ab\u00ff\u00ffx", "ac")).toBe("ab\u00ff\u00ffy");
  });

  test("index encode/decode and block search", () => {
    const index = { separators: ["b", "d", "d", "k"], offsets: [0, 105, 205, 305], lengths: [100, 95, 95, 10] };
    expect(decodeIndex(encodeIndex(index), "t", 0, 320)).toEqual(index);
    expect(() => decodeIndex(encodeIndex(index), "t", 0, 321)).toThrow(CorruptionError);
    expect(() => decodeIndex(encodeIndex({ ...index, separators: ["b", "e", "d", "k"] }), "t", 0, 320)).toThrow(/separator/);
    expect(() => decodeIndex(encodeIndex({ ...index, offsets: [0, 104, 205, 305] }), "t", 0, 320)).toThrow(/offset/);
    expect(findBlock(index.separators, "a")).toBe(0);
    expect(findBlock(index.separators, "c")).toBe(1);
    expect(findBlock(index.separators, "d")).toBe(1);
    expect(findBlock(index.separators, "z")).toBe(4);
  });

  test("data block: seek over restart points equals a linear search", () => {
    fc.assert(
      fc.property(fc.uniqueArray(keyArb, { minLength: 1, maxLength: 80 }), fc.integer({ min: 1, max: 5 }), fc.array(keyArb, { maxLength: 20 }), (raw, interval, probes) => {
        const keys = raw.sort(compareLatin1);
        const b = new BlockBuilder(interval);
        keys.forEach((k, i) => b.add(k, i + 1, 1, new Uint8Array([i & 255])));
        const block = BlockReader.parse(b.finish(), "t", 0);
        expect(decodeBlock(block).keys).toEqual(keys);
        const it = new BlockIter(block);
        for (const p of [...probes, ...keys]) {
          it.seek(p);
          const want = keys.findIndex((k) => compareLatin1(k, p) >= 0);
          if (want < 0) expect(it.valid()).toBe(false);
          else {
            expect(it.key()).toBe(keys[want]);
            expect(it.seq).toBe(want + 1);
            expect(it.value()).toEqual(new Uint8Array([want & 255]));
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  test("malformed data blocks give CorruptionError", () => {
    const b = new BlockBuilder(2);
    b.add("abc", 3, 1, new Uint8Array([9]));
    b.add("abd", 2, 0, undefined);
    const good = b.finish();
    const parseAll = (bytes: Uint8Array): unknown => decodeBlock(BlockReader.parse(bytes, "t", 0));
    expect(() => parseAll(new Uint8Array(3))).toThrow(CorruptionError);
    const hugeCount = good.slice();
    hugeCount[hugeCount.length - 1] = 0x7f;
    expect(() => parseAll(hugeCount)).toThrow(CorruptionError);
    const badKind = good.slice();
    badKind[2] = 5; // the first entry's kind byte
    expect(() => parseAll(badKind)).toThrow(/kind/);
    const badShared = good.slice();
    badShared[0] = 9; // the first entry claims shared bytes
    expect(() => parseAll(badShared)).toThrow(/shares/);
    const longKey = good.slice();
    longKey[1] = 100; // unshared length past the block
    expect(() => parseAll(longKey)).toThrow(CorruptionError);
  });
});
