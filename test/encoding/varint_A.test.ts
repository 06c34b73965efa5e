import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { CorruptionError } from "../../src/errors.ts";
import { VARINT_MAX_BYTES, getVarint, putVarint, varintLength } from "../../src/encoding/index.ts";

const MAX = Number.MAX_SAFE_INTEGER; // 2^53 - 1

function encode(n: number): Uint8Array {
  const out = new Uint8Array(VARINT_MAX_BYTES);
  const end = putVarint(out, 0, n);
  return out.subarray(0, end);
}

/** Values near every 7-bit group boundary, where length changes. */
const boundaries: number[] = [0, 1, MAX];
for (let k = 1; k <= 7; k++) {
  const p = 2 ** (7 * k);
  boundaries.push(p - 1, p, p + 1);
}

const anyValue = fc.oneof(
  fc.integer({ min: 0, max: MAX }),
  fc.integer({ min: 0, max: 300 }),
  fc.constantFrom(...boundaries),
);

describe("varint round trip", () => {
  test("encode then decode gives the value back (property over 0..2^53-1)", () => {
    fc.assert(
      fc.property(anyValue, fc.integer({ min: 0, max: 5 }), (n, pad) => {
        const buf = new Uint8Array(pad + VARINT_MAX_BYTES + 3);
        const end = putVarint(buf, pad, n);
        expect(end - pad).toBe(varintLength(n));
        expect(end - pad).toBeLessThanOrEqual(VARINT_MAX_BYTES);
        const d = getVarint(buf, pad, end);
        expect(d.value).toBe(n);
        expect(d.next).toBe(end);
      }),
    );
  });

  test("lengths at group boundaries", () => {
    expect(encode(0)).toEqual(Uint8Array.of(0));
    expect(encode(127)).toEqual(Uint8Array.of(0x7f));
    expect(encode(128)).toEqual(Uint8Array.of(0x80, 0x01));
    expect(encode(300)).toEqual(Uint8Array.of(0xac, 0x02));
    for (let k = 1; k <= 7; k++) {
      expect(varintLength(2 ** (7 * k) - 1)).toBe(k);
      expect(varintLength(2 ** (7 * k))).toBe(k + 1);
    }
    expect(varintLength(MAX)).toBe(8);
    expect(encode(MAX)).toEqual(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f));
  });

  test("consecutive varints decode in sequence", () => {
    const values = [5, 1000, MAX, 0, 2 ** 35];
    const buf = new Uint8Array(values.length * VARINT_MAX_BYTES);
    let at = 0;
    for (const v of values) at = putVarint(buf, at, v);
    let pos = 0;
    for (const v of values) {
      const d = getVarint(buf, pos, at);
      expect(d.value).toBe(v);
      pos = d.next;
    }
    expect(pos).toBe(at);
  });
});

describe("varint corruption", () => {
  test("truncated input throws CorruptionError naming the structure (property)", () => {
    fc.assert(
      fc.property(anyValue, (n) => {
        const enc = encode(n);
        for (let cut = 0; cut < enc.length; cut++) {
          expect(() => getVarint(enc, 0, cut, "block length")).toThrow(CorruptionError);
          expect(() => getVarint(enc, 0, cut, "block length")).toThrow(/truncated block length/);
        }
      }),
    );
  });

  test("empty range throws", () => {
    expect(() => getVarint(new Uint8Array(4), 2, 2)).toThrow(CorruptionError);
  });

  test("more than 8 bytes of continuation is overlong", () => {
    const buf = new Uint8Array(12).fill(0x80);
    buf[11] = 0x01;
    expect(() => getVarint(buf, 0, buf.length)).toThrow(CorruptionError);
    expect(() => getVarint(buf, 0, buf.length)).toThrow(/overlong/);
    const nine = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00);
    expect(() => getVarint(nine, 0, nine.length)).toThrow(CorruptionError);
  });

  test("an 8-byte varint above 2^53-1 is rejected", () => {
    const justOver = Uint8Array.of(0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10); // 2^53
    expect(() => getVarint(justOver, 0, justOver.length)).toThrow(CorruptionError);
    const top = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f); // 2^56 - 1
    expect(() => getVarint(top, 0, top.length)).toThrow(/exceeds 2\^53/);
    const max = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x0f);
    expect(getVarint(max, 0, max.length).value).toBe(MAX);
  });

  test("random bytes either decode to a safe integer or throw CorruptionError (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (buf) => {
        try {
          const d = getVarint(buf, 0, buf.length);
          expect(Number.isSafeInteger(d.value)).toBe(true);
          expect(d.value).toBeGreaterThanOrEqual(0);
          expect(d.next).toBeGreaterThan(0);
          expect(d.next).toBeLessThanOrEqual(Math.min(buf.length, VARINT_MAX_BYTES));
        } catch (e) {
          expect(e).toBeInstanceOf(CorruptionError);
        }
      }),
    );
  });
});
