import { describe, expect, test } from "vitest";
import { BloomBuilder, BloomFilter, bloomProbes } from "../../../src/engine/sstable/bloom.ts";
import { buildTable, openTable, type Entry } from "./sstable-helpers.ts";

function filterOf(keys: string[], bitsPerKey: number): BloomFilter {
  const b = new BloomBuilder(bitsPerKey);
  for (const k of keys) b.addKey(k);
  return BloomFilter.decode(b.finish())!;
}

function falsePositiveRate(f: BloomFilter, probes: string[]): number {
  return probes.filter((k) => f.mayContain(k)).length / probes.length;
}

describe("bloom filter", () => {
  test("7 probes at 10 bits per key", () => {
    expect(bloomProbes(10)).toBe(7);
    expect(bloomProbes(1)).toBe(1);
    expect(bloomProbes(64)).toBe(30);
  });

  test("10k keys at 10 bits per key: no false negatives, false positives under 2% (~1% expected)", () => {
    const keys = Array.from({ length: 10_000 }, (_, i) => `user:${i}`);
    const f = filterOf(keys, 10);
    for (const k of keys) expect(f.mayContain(k)).toBe(true);
    const absent = Array.from({ length: 20_000 }, (_, i) => `user:${i + 10_000}`);
    const rate = falsePositiveRate(f, absent);
    expect(rate).toBeLessThan(0.02);
    expect(rate).toBeGreaterThan(0.002); // the filter is not accidentally oversized
    expect(f.sizeBytes).toBe(196 * 64); // 100k bits rounded up to whole 512-bit lines
  });

  test("binary 16-byte keys and short keys (1-2 bytes) stay under 2%", () => {
    const rnd = (i: number): string => {
      let s = "";
      let x = Math.imul(i + 1, 0x9e3779b1) >>> 0;
      for (let j = 0; j < 16; j++) {
        x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
        s += String.fromCharCode(x & 255);
      }
      return s;
    };
    const keys = Array.from({ length: 10_000 }, (_, i) => rnd(i));
    expect(falsePositiveRate(filterOf(keys, 10), Array.from({ length: 20_000 }, (_, i) => rnd(i + 10_000)))).toBeLessThan(0.02);
    const short: string[] = [];
    for (let i = 0; i < 65536; i += 2) short.push(String.fromCharCode(i >> 8, i & 255));
    const odd: string[] = [];
    for (let i = 1; i < 65536; i += 2) odd.push(String.fromCharCode(i >> 8, i & 255));
    expect(falsePositiveRate(filterOf(short, 10), odd)).toBeLessThan(0.02);
  });

  test("the filter of a built table: no false negatives, under 2% false positives", () => {
    const entries: Entry[] = Array.from({ length: 10_000 }, (_, i) => ({ key: `k${String(i * 2).padStart(6, "0")}`, seq: i + 1, kind: 1, value: new Uint8Array(4) }));
    const { fs } = buildTable(entries);
    const t = openTable(fs);
    for (const e of entries) expect(t.mayContain(e.key)).toBe(true);
    let fp = 0;
    for (let i = 0; i < 10_000; i++) if (t.mayContain(`k${String(i * 2 + 1).padStart(6, "0")}`)) fp++;
    expect(fp / 10_000).toBeLessThan(0.02);
    t.close();
  });

  test("no filter (0 bits per key) always says maybe; malformed filter blocks are refused", () => {
    const f = filterOf(["a"], 0);
    expect(f.mayContain("zzz")).toBe(true);
    expect(BloomFilter.decode(new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8]))).toBeUndefined(); // k = 0
    expect(BloomFilter.decode(new Uint8Array([31, 1, 2, 3, 4, 5, 6, 7, 8]))).toBeUndefined(); // k > 30
    expect(BloomFilter.decode(new Uint8Array([7, 1, 2]))).toBeUndefined(); // fewer than 8 bytes of bits
  });
});
