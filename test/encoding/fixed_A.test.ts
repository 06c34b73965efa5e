import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { CorruptionError } from "../../src/errors.ts";
import { getU16, getU32, getU64, putU16, putU32, putU64 } from "../../src/encoding/index.ts";

const MAX = Number.MAX_SAFE_INTEGER;

describe("fixed-width little-endian integers", () => {
  test("u16 round trip at any offset (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 7 }), (v, at) => {
        const buf = new Uint8Array(at + 2 + 3).fill(0xee);
        putU16(buf, at, v);
        expect(getU16(buf, at)).toBe(v);
        expect(buf[at + 2]).toBe(0xee); // nothing written past the field
        if (at > 0) expect(buf[at - 1]).toBe(0xee);
      }),
    );
  });

  test("u32 round trip at any offset (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 7 }), (v, at) => {
        const buf = new Uint8Array(at + 4 + 3).fill(0xee);
        putU32(buf, at, v);
        expect(getU32(buf, at)).toBe(v);
        expect(buf[at + 4]).toBe(0xee);
      }),
    );
  });

  test("u64 round trip over 0..2^53-1 (property)", () => {
    const edges = fc.constantFrom(0, 1, 0xffffffff, 2 ** 32, 2 ** 32 + 1, 2 ** 52, MAX - 1, MAX);
    fc.assert(
      fc.property(fc.oneof(fc.integer({ min: 0, max: MAX }), edges), fc.integer({ min: 0, max: 7 }), (v, at) => {
        const buf = new Uint8Array(at + 8 + 3).fill(0xee);
        putU64(buf, at, v);
        expect(getU64(buf, at)).toBe(v);
        expect(buf[at + 8]).toBe(0xee);
      }),
    );
  });

  test("byte order is little-endian", () => {
    const b = new Uint8Array(8);
    putU16(b, 0, 0x1234);
    expect([b[0], b[1]]).toEqual([0x34, 0x12]);
    putU32(b, 0, 0xdeadbeef);
    expect(Array.from(b.subarray(0, 4))).toEqual([0xef, 0xbe, 0xad, 0xde]);
    putU64(b, 0, 0x0123_4567_89ab_cd);
    expect(Array.from(b)).toEqual([0xcd, 0xab, 0x89, 0x67, 0x45, 0x23, 0x01, 0x00]);
    const view = new DataView(b.buffer);
    expect(view.getBigUint64(0, true)).toBe(0x0123_4567_89ab_cdn);
  });

  test("u64 above 2^53-1 throws CorruptionError", () => {
    const b = new Uint8Array(8);
    const view = new DataView(b.buffer);
    view.setBigUint64(0, 2n ** 53n, true);
    expect(() => getU64(b, 0)).toThrow(CorruptionError);
    view.setBigUint64(0, 2n ** 64n - 1n, true);
    expect(() => getU64(b, 0)).toThrow(CorruptionError);
    view.setBigUint64(0, 2n ** 53n - 1n, true);
    expect(getU64(b, 0)).toBe(MAX);
  });

  test("any 8 bytes decode exactly or throw (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), (b) => {
        const big = new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
        if (big > BigInt(MAX)) {
          expect(() => getU64(b, 0)).toThrow(CorruptionError);
        } else {
          expect(BigInt(getU64(b, 0))).toBe(big);
        }
      }),
    );
  });
});
