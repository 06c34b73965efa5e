import { describe, expect, test } from "vitest";
import fc from "fast-check";
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from "../../src/encoding/index.ts";

/** Bytes of an ASCII string (the vectors below are plain ASCII). */
function ascii(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function filled(length: number, f: (i: number) => number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = f(i);
  return out;
}

// RFC 3720 (iSCSI) appendix B.4 and the usual "check" value of CRC-32C.
const ISCSI_READ_10 = [
  0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18,
  0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];

describe("crc32c known vectors", () => {
  test("check value of \"123456789\"", () => {
    expect(crc32c(ascii("123456789"))).toBe(0xe3069283);
  });
  test("empty input", () => {
    expect(crc32c(new Uint8Array(0))).toBe(0);
  });
  test("32 zero bytes", () => {
    expect(crc32c(new Uint8Array(32))).toBe(0x8a9136aa);
  });
  test("32 0xFF bytes", () => {
    expect(crc32c(new Uint8Array(32).fill(0xff))).toBe(0x62a8ab43);
  });
  test("ascending 0..31", () => {
    expect(crc32c(filled(32, (i) => i))).toBe(0x46dd794e);
  });
  test("descending 31..0", () => {
    expect(crc32c(filled(32, (i) => 31 - i))).toBe(0x113fdb5c);
  });
  test("iSCSI read(10) command PDU", () => {
    expect(crc32c(Uint8Array.from(ISCSI_READ_10))).toBe(0xd9963a56);
  });
  test("results are unsigned 32-bit", () => {
    const c = crc32c(ascii("123456789")); // 0xE3069283 has the top bit set
    expect(c).toBeGreaterThan(0x7fffffff);
    expect(Number.isInteger(c)).toBe(true);
  });
});

describe("crc32c ranges and incremental update", () => {
  test("start/end select a window of the buffer", () => {
    const inner = ascii("123456789");
    const padded = new Uint8Array(inner.length + 13).fill(0xaa);
    padded.set(inner, 5);
    expect(crc32c(padded, 5, 5 + inner.length)).toBe(0xe3069283);
  });

  test("update over a split buffer equals one shot (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(), (buf, cutRaw) => {
        const cut = buf.length === 0 ? 0 : cutRaw % (buf.length + 1);
        const split = crc32cUpdate(crc32cUpdate(0, buf, 0, cut), buf, cut, buf.length);
        expect(split).toBe(crc32c(buf));
        const viaSubarrays = crc32cUpdate(crc32c(buf.subarray(0, cut)), buf.subarray(cut));
        expect(viaSubarrays).toBe(crc32c(buf));
      }),
    );
  });

  test("update over many pieces equals one shot (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 40 }), { maxLength: 12 }), (pieces) => {
        let total = 0;
        for (const p of pieces) total += p.length;
        const whole = new Uint8Array(total);
        let at = 0;
        let crc = 0;
        for (const p of pieces) {
          whole.set(p, at);
          at += p.length;
          crc = crc32cUpdate(crc, p);
        }
        expect(crc).toBe(crc32c(whole));
      }),
    );
  });

  test("a single flipped bit changes the checksum (property)", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), fc.nat(), fc.integer({ min: 0, max: 7 }), (buf, iRaw, bit) => {
        const i = iRaw % buf.length;
        const flipped = buf.slice();
        flipped[i] = flipped[i]! ^ (1 << bit);
        expect(crc32c(flipped)).not.toBe(crc32c(buf));
      }),
    );
  });
});

describe("crc32c masking", () => {
  test("unmask(mask(c)) === c and mask(c) !== c (property)", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => {
        const m = maskCrc(c);
        expect(m).not.toBe(c);
        expect(m >>> 0).toBe(m);
        expect(unmaskCrc(m)).toBe(c);
        expect(maskCrc(m)).not.toBe(m);
        expect(unmaskCrc(unmaskCrc(maskCrc(maskCrc(c))))).toBe(c);
      }),
    );
  });

  test("masking a real checksum", () => {
    const c = crc32c(ascii("foo"));
    expect(maskCrc(c)).not.toBe(c);
    expect(unmaskCrc(maskCrc(c))).toBe(c);
  });

  test("fixed mask values (rotate right 15, add 0xa282ead8)", () => {
    expect(maskCrc(0)).toBe(0xa282ead8);
    expect(maskCrc(0xffffffff)).toBe((0xffffffff + 0xa282ead8) % 2 ** 32);
    expect(maskCrc(1 << 15)).toBe(1 + 0xa282ead8);
  });
});
