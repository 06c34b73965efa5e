import { describe, expect, test } from "vitest";
import fc from "fast-check";
import {
  bytesToLatin1,
  compareBytes,
  concatBytes,
  equalBytes,
  latin1Slice,
  latin1ToBytes,
  putLatin1,
  toHex,
  utf8Decode,
  utf8Encode,
} from "../../src/encoding/index.ts";

function sign(n: number): number {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Byte arrays drawn from a small alphabet so shared prefixes and ties are common. */
const smallAlphabet = fc.array(fc.constantFrom(0, 1, 0x7f, 0x80, 0xfe, 0xff), { maxLength: 8 }).map((a) => Uint8Array.from(a));
const anyBytes = fc.oneof(fc.uint8Array({ maxLength: 40 }), smallAlphabet);

describe("compareBytes", () => {
  test("agrees with latin1 string comparison (property)", () => {
    fc.assert(
      fc.property(anyBytes, anyBytes, (a, b) => {
        const sa = bytesToLatin1(a);
        const sb = bytesToLatin1(b);
        const expected = sa < sb ? -1 : sa > sb ? 1 : 0;
        expect(sign(compareBytes(a, b))).toBe(expected);
        expect(sign(compareBytes(b, a))).toBe(sb < sa ? -1 : sb > sa ? 1 : 0);
        expect(compareBytes(a, b) === 0).toBe(equalBytes(a, b));
      }),
    );
  });

  test("is unsigned and prefix-first", () => {
    expect(compareBytes(Uint8Array.of(0x7f), Uint8Array.of(0x80))).toBeLessThan(0);
    expect(compareBytes(Uint8Array.of(0xff), Uint8Array.of(0x00, 0x00))).toBeGreaterThan(0);
    expect(compareBytes(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 0))).toBeLessThan(0);
    expect(compareBytes(new Uint8Array(0), new Uint8Array(0))).toBe(0);
  });

  test("sorting with compareBytes matches sorting latin1 strings (property)", () => {
    fc.assert(
      fc.property(fc.array(anyBytes, { maxLength: 20 }), (arr) => {
        const byBytes = arr.slice().sort(compareBytes).map(bytesToLatin1);
        const byStrings = arr.map(bytesToLatin1).sort();
        expect(byBytes).toEqual(byStrings);
      }),
    );
  });
});

describe("latin1 conversions", () => {
  test("bytes -> latin1 -> bytes round trip near the 24-byte cut-over (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 40 }), (b) => {
        const s = bytesToLatin1(b);
        expect(s.length).toBe(b.length);
        for (let i = 0; i < b.length; i++) expect(s.charCodeAt(i)).toBe(b[i]);
        expect(latin1ToBytes(s)).toEqual(b);
      }),
    );
  });

  test("round trip across the 4096-byte chunk boundary (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 4090, maxLength: 8200 }), (b) => {
        const s = bytesToLatin1(b);
        expect(s.length).toBe(b.length);
        expect(latin1ToBytes(s)).toEqual(b);
      }),
      { numRuns: 25 },
    );
  });

  test("exact lengths at every cut-over", () => {
    for (const n of [0, 1, 23, 24, 25, 4095, 4096, 4097, 8191, 8192, 8193, 70_000]) {
      const b = new Uint8Array(n);
      for (let i = 0; i < n; i++) b[i] = (i * 131 + 7) & 0xff;
      const s = bytesToLatin1(b);
      expect(s.length).toBe(n);
      expect(latin1ToBytes(s)).toEqual(b);
      if (n > 0) expect(s.charCodeAt(n - 1)).toBe(b[n - 1]);
    }
  });

  test("latin1 string -> bytes -> string round trip (property)", () => {
    const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));
    fc.assert(
      fc.property(fc.array(latin1Char, { maxLength: 60 }).map((a) => a.join("")), (s) => {
        expect(bytesToLatin1(latin1ToBytes(s))).toBe(s);
      }),
    );
  });

  test("latin1Slice and putLatin1 agree with the whole-buffer conversions (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 80 }), fc.nat(), fc.nat(), (b, x, y) => {
        const start = b.length === 0 ? 0 : x % (b.length + 1);
        const end = start + (b.length - start === 0 ? 0 : y % (b.length - start + 1));
        const s = latin1Slice(b, start, end);
        expect(s).toBe(bytesToLatin1(b.subarray(start, end)));
        const out = new Uint8Array(end - start + 2);
        expect(putLatin1(out, 1, s)).toBe(1 + s.length);
        expect(out.subarray(1, 1 + s.length)).toEqual(b.subarray(start, end));
      }),
    );
  });
});

describe("other helpers", () => {
  test("utf8 round trip (property)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(utf8Decode(utf8Encode(s))).toBe(s);
      }),
    );
  });

  test("toHex pads every byte to two digits", () => {
    expect(toHex(Uint8Array.of(0, 1, 0x0f, 0x10, 0xff))).toBe("00010f10ff");
    expect(toHex(new Uint8Array(0))).toBe("");
  });

  test("concatBytes keeps order and length (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 10 }), { maxLength: 6 }), (parts) => {
        const joined = concatBytes(parts);
        expect(Array.from(joined)).toEqual(parts.flatMap((p) => Array.from(p)));
      }),
    );
  });
});

describe("copyBytes", () => {
  test("copies are independent of the source and of each other, aligned, any size", async () => {
    const { copyBytes } = await import("../../src/encoding/bytes.ts");
    const src = new Uint8Array(3000).map((_, i) => i & 0xff);
    const copies: Array<[Uint8Array, number, number]> = [];
    for (let i = 0; i < 500; i++) {
      const start = (i * 37) % 1000;
      const len = [0, 1, 7, 100, 1024, 1025, 2000][i % 7]!;
      const c = copyBytes(src.subarray(start, start + len));
      expect(c.byteOffset % 8).toBe(0);
      copies.push([c, start, len]);
    }
    src.fill(0xee); // the source changes: no copy follows
    for (const [c, start, len] of copies) {
      expect(c.length).toBe(len);
      for (let j = 0; j < len; j++) if (c[j] !== ((start + j) & 0xff)) throw new Error(`copy of ${start}+${len} differs at ${j}`);
    }
    copies[3]![0].fill(0); // changing one copy leaves the others alone
    const [c4, s4, l4] = copies[4]!;
    for (let j = 0; j < l4; j++) expect(c4[j]).toBe((s4 + j) & 0xff);
  });
});
