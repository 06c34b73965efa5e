import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError } from "../../../src/errors.ts";
import {
  VLOG_FILE_HEADER_BYTES, VLOG_MAX_RECORD_BYTES, VLOG_RECORD_HEADER_BYTES, decodeVlogFileHeader, encodeVlogFileHeader, parseVlogFileName,
  recordBytes, vlogFileName,
} from "../../../src/engine/vlog/format.ts";
import {
  VALUE_POINTER_MAX_BYTES, VALUE_POINTER_MIN_BYTES, decodeValuePointer, encodeValuePointer, samePointer, valuePointerBytes, type ValuePointer,
} from "../../../src/engine/vlog/pointer.ts";

const pointerArb: fc.Arbitrary<ValuePointer> = fc.record({
  fileNumber: fc.oneof(fc.integer({ min: 1, max: 100_000 }), fc.constant(Number.MAX_SAFE_INTEGER - VLOG_MAX_RECORD_BYTES)),
  offset: fc.oneof(fc.integer({ min: VLOG_FILE_HEADER_BYTES, max: 2 ** 31 }), fc.integer({ min: VLOG_FILE_HEADER_BYTES, max: Number.MAX_SAFE_INTEGER - VLOG_MAX_RECORD_BYTES })),
  length: fc.integer({ min: VLOG_RECORD_HEADER_BYTES, max: VLOG_MAX_RECORD_BYTES }),
  checksum: fc.integer({ min: 0, max: 0xffffffff }),
});

function decodeOrCorrupt(b: Uint8Array): ValuePointer | "corrupt" {
  try {
    return decodeValuePointer(b);
  } catch (e) {
    expect(e).toBeInstanceOf(CorruptionError);
    return "corrupt";
  }
}

describe("value pointer codec", () => {
  test("valid pointers round-trip, within the stated sizes", () => {
    fc.assert(fc.property(pointerArb, (p) => {
      const b = encodeValuePointer(p);
      expect(b.length).toBe(valuePointerBytes(p));
      expect(b.length).toBeGreaterThanOrEqual(VALUE_POINTER_MIN_BYTES);
      expect(b.length).toBeLessThanOrEqual(VALUE_POINTER_MAX_BYTES);
      expect(decodeValuePointer(b)).toEqual(p);
    }), { numRuns: 2000 });
  });

  test("the largest pointer is exactly VALUE_POINTER_MAX_BYTES; a typical one is 14 bytes", () => {
    const max = { fileNumber: Number.MAX_SAFE_INTEGER - VLOG_MAX_RECORD_BYTES, offset: Number.MAX_SAFE_INTEGER - VLOG_MAX_RECORD_BYTES, length: VLOG_MAX_RECORD_BYTES, checksum: 0xffffffff };
    expect(encodeValuePointer(max).length).toBe(VALUE_POINTER_MAX_BYTES);
    expect(encodeValuePointer({ fileNumber: 1000, offset: 2 ** 30, length: 65_600, checksum: 1 }).length).toBe(14);
  });

  test("random bytes decode only to the pointer whose canonical encoding they are", () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 0, maxLength: 30 }), (b) => {
      const p = decodeOrCorrupt(b);
      if (p !== "corrupt") expect(encodeValuePointer(p)).toEqual(b);
    }), { numRuns: 20_000 });
  });

  test("every bit flip, truncation and extension of a valid pointer: CorruptionError or a different canonical pointer", () => {
    fc.assert(fc.property(pointerArb, fc.uint8Array({ minLength: 1, maxLength: 3 }), (p, extra) => {
      const b = encodeValuePointer(p);
      for (let i = 0; i < b.length * 8; i++) {
        const m = b.slice();
        m[i >> 3] ^= 1 << (i & 7);
        const q = decodeOrCorrupt(m);
        if (q !== "corrupt") {
          expect(samePointer(p, q)).toBe(false);
          expect(encodeValuePointer(q)).toEqual(m);
        }
      }
      for (let n = 0; n < b.length; n++) expect(decodeOrCorrupt(b.subarray(0, n))).toBe("corrupt");
      const longer = new Uint8Array(b.length + extra.length);
      longer.set(b);
      longer.set(extra, b.length);
      const q = decodeOrCorrupt(longer);
      if (q !== "corrupt") expect(samePointer(p, q)).toBe(false);
    }), { numRuns: 100 });
  });

  test("impossible fields are refused on encode and decode", () => {
    const ok = { fileNumber: 3, offset: 100, length: 200, checksum: 5 };
    for (const bad of [
      { ...ok, fileNumber: 0 }, { ...ok, offset: 27 }, { ...ok, length: 21 }, { ...ok, length: VLOG_MAX_RECORD_BYTES + 1 },
      { ...ok, checksum: -1 }, { ...ok, checksum: 2 ** 32 }, { ...ok, offset: 1.5 }, { ...ok, offset: Number.MAX_SAFE_INTEGER },
    ]) {
      expect(() => encodeValuePointer(bad)).toThrow(CorruptionError);
    }
    // Overlong varint zero (0x80 0x00) as the file number, then a valid rest.
    expect(() => decodeValuePointer(new Uint8Array([0x81, 0x00, 100, 100, 1, 2, 3, 4]))).toThrow(/canonical/);
  });
});

describe("value-log file header and names", () => {
  test("header round-trips; every bit flip is a CorruptionError; the expected number is enforced", () => {
    const h = encodeVlogFileHeader(42, 0xdeadbeef);
    expect(h.length).toBe(VLOG_FILE_HEADER_BYTES);
    const d = decodeVlogFileHeader(h, "x", 42);
    expect(d.fileNumber).toBe(42);
    expect(d.salt).toBe(0xdeadbeef);
    expect(() => decodeVlogFileHeader(h, "x", 43)).toThrow(CorruptionError);
    for (let i = 0; i < h.length * 8; i++) {
      const m = h.slice();
      m[i >> 3] ^= 1 << (i & 7);
      expect(() => decodeVlogFileHeader(m, "x")).toThrow(CorruptionError);
    }
    expect(() => decodeVlogFileHeader(h.subarray(0, 27), "x")).toThrow(CorruptionError);
  });

  test("file names round-trip; others are not value-log files", () => {
    expect(vlogFileName(7)).toBe("000007.vlog");
    expect(vlogFileName(12345678)).toBe("12345678.vlog");
    expect(parseVlogFileName("000007.vlog")).toBe(7);
    expect(parseVlogFileName("12345678.vlog")).toBe(12345678);
    for (const bad of ["7.vlog", "0000007.vlog", "000007.log", "000007.vlog.tmp", "abcdef.vlog"]) expect(parseVlogFileName(bad)).toBeUndefined();
  });

  test("recordBytes is header + key + value", () => {
    expect(recordBytes(0, 0)).toBe(VLOG_RECORD_HEADER_BYTES);
    expect(recordBytes(16, 65536)).toBe(22 + 16 + 65536);
  });
});
