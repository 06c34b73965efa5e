import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError, InvalidArgumentError } from "../../../src/errors.ts";
import { putVarint } from "../../../src/encoding/varint.ts";
import {
  canonicalEdit, decodeVersionEdit, encodeVersionEdit, MAX_LEVELS, TAG_ADDED_FILE, TAG_FIRST_SKIPPABLE, TAG_LAST_SEQ, TAG_LOG_NUMBER,
  type VersionEdit,
} from "../../../src/engine/manifest/version-edit.ts";

const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 20 }).map((a) => String.fromCharCode(...a));
const num = fc.oneof(fc.nat(300), fc.constant(Number.MAX_SAFE_INTEGER), fc.nat());
const levelArb = fc.nat(MAX_LEVELS - 1);
const addedArb = fc.record({ level: levelArb, fileNumber: num, sizeBytes: num, a: latin1, b: latin1, s1: num, s2: num }).map((r) => ({
  level: r.level, fileNumber: r.fileNumber, sizeBytes: r.sizeBytes,
  smallestKey: r.a < r.b ? r.a : r.b, largestKey: r.a < r.b ? r.b : r.a,
  minSeq: Math.min(r.s1, r.s2), maxSeq: Math.max(r.s1, r.s2),
}));
const uniqBy = <T extends { level: number }>(key: (t: T) => string) => (a: T[]): T[] => [...new Map(a.map((t) => [key(t), t])).values()];
const editArb: fc.Arbitrary<VersionEdit> = fc.record({
  added: fc.array(addedArb, { maxLength: 6 }).map(uniqBy((f) => `${f.level}/${f.fileNumber}`)),
  deleted: fc.array(fc.record({ level: levelArb, fileNumber: num }), { maxLength: 6 }).map(uniqBy((f) => `${f.level}/${f.fileNumber}`)),
  compactPointers: fc.array(fc.record({ level: levelArb, key: latin1 }), { maxLength: 4 }).map(uniqBy((c) => `${c.level}`)),
  logNumber: num, nextFileNumber: num, lastSeq: num,
}, { requiredKeys: [] });

describe("version edit encoding", () => {
  test("round trip: decode(encode(e)) is e in canonical order, and encode(decode(b)) is b", () => {
    fc.assert(fc.property(editArb, (e) => {
      const bytes = encodeVersionEdit(e);
      const back = decodeVersionEdit(bytes);
      expect(back).toEqual(canonicalEdit(e));
      expect(encodeVersionEdit(back)).toEqual(bytes);
    }), { numRuns: 500 });
  });

  test("the encoding does not depend on the order of the caller's arrays", () => {
    fc.assert(fc.property(editArb, (e) => {
      const reversed: VersionEdit = { ...e, added: [...(e.added ?? [])].reverse(), deleted: [...(e.deleted ?? [])].reverse() };
      expect(encodeVersionEdit(reversed)).toEqual(encodeVersionEdit(e));
    }));
  });

  test("any byte string decodes to a canonical edit or throws CorruptionError, nothing else", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 80 }), (b) => {
      try {
        const e = decodeVersionEdit(b);
        expect(encodeVersionEdit(e).length).toBeLessThanOrEqual(b.length);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }), { numRuns: 2000 });
  });

  test("every truncation of a valid edit is refused or is an earlier field boundary", () => {
    const bytes = encodeVersionEdit({ added: [{ level: 1, fileNumber: 9, sizeBytes: 77, smallestKey: "abc", largestKey: "abd", minSeq: 3, maxSeq: 4 }], logNumber: 5, lastSeq: 600 });
    for (let n = 0; n < bytes.length; n++) {
      try {
        decodeVersionEdit(bytes.subarray(0, n));
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }
    expect(() => decodeVersionEdit(bytes.subarray(0, bytes.length - 1))).toThrow(CorruptionError);
  });

  function field(tag: number, body: number[]): number[] {
    const out = new Uint8Array(20);
    let at = putVarint(out, 0, tag);
    at = putVarint(out, at, body.length);
    return [...out.subarray(0, at), ...body];
  }

  test("unknown required fields are refused; unknown fields from tag 64 up are skipped", () => {
    expect(() => decodeVersionEdit(new Uint8Array(field(40, [1])))).toThrow(/unknown required version-edit field 40/);
    const e = decodeVersionEdit(new Uint8Array([...field(TAG_LOG_NUMBER, [7]), ...field(TAG_FIRST_SKIPPABLE + 3, [1, 2, 3])]));
    expect(e).toEqual({ logNumber: 7 });
  });

  test("non-canonical input is refused: fields out of order, a scalar twice, trailing bytes in a field", () => {
    expect(() => decodeVersionEdit(new Uint8Array([...field(TAG_LAST_SEQ, [1]), ...field(TAG_LOG_NUMBER, [1])]))).toThrow(CorruptionError);
    expect(() => decodeVersionEdit(new Uint8Array([...field(TAG_LOG_NUMBER, [1]), ...field(TAG_LOG_NUMBER, [2])]))).toThrow(CorruptionError);
    expect(() => decodeVersionEdit(new Uint8Array(field(TAG_LOG_NUMBER, [1, 0])))).toThrow(/trailing/);
    const a = encodeVersionEdit({ added: [{ level: 1, fileNumber: 2, sizeBytes: 0, smallestKey: "", largestKey: "", minSeq: 0, maxSeq: 0 }] });
    const b = encodeVersionEdit({ added: [{ level: 0, fileNumber: 3, sizeBytes: 0, smallestKey: "", largestKey: "", minSeq: 0, maxSeq: 0 }] });
    expect(a[0]).toBe(TAG_ADDED_FILE);
    expect(() => decodeVersionEdit(new Uint8Array([...a, ...b]))).toThrow(/canonical/);
    expect(decodeVersionEdit(new Uint8Array([...b, ...a])).added).toHaveLength(2);
  });

  test("invalid edits are refused by the encoder with InvalidArgumentError", () => {
    const f = { level: 1, fileNumber: 2, sizeBytes: 0, smallestKey: "a", largestKey: "b", minSeq: 0, maxSeq: 0 };
    const bad: VersionEdit[] = [
      { added: [{ ...f, level: MAX_LEVELS }] },
      { added: [{ ...f, smallestKey: "c" }] },
      { added: [{ ...f, minSeq: 5 }] },
      { added: [f, f] },
      { added: [{ ...f, largestKey: "\u0100" }] },
      { deleted: [{ level: 0, fileNumber: -1 }] },
      { logNumber: 1.5 },
      { compactPointers: [{ level: 1, key: "a" }, { level: 1, key: "b" }] },
    ];
    for (const e of bad) expect(() => encodeVersionEdit(e), JSON.stringify(e)).toThrow(InvalidArgumentError);
  });
});
