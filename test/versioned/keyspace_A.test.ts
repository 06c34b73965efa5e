/** The store's key escaping keeps user-key order, never interleaves two keys' entries, and round-trips. */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError } from "../../src/errors.ts";
import { concatKey, keyPrefixFor, NS_HEADS, prefixEnd, readEscapedKey } from "../../src/versioned/keyspace.ts";

function cmp(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

// Keys rich in 0x00, 0x01 and 0xff, the bytes the escaping is about.
const keyArb = fc.array(fc.constantFrom(0, 1, 2, 0xfe, 0xff, 0x61), { maxLength: 6 }).map((a) => Uint8Array.from(a));
const suffixArb = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 6 }).map((a) => Uint8Array.from(a));

describe("versioned keyspace", () => {
  test("order: a < b as user keys implies every entry of a sorts before every entry of b", () => {
    fc.assert(fc.property(keyArb, keyArb, suffixArb, suffixArb, (a, b, sa, sb) => {
      const c = cmp(a, b);
      fc.pre(c !== 0);
      const ea = concatKey(keyPrefixFor(NS_HEADS, a), sa);
      const eb = concatKey(keyPrefixFor(NS_HEADS, b), sb);
      expect(Math.sign(cmp(ea, eb))).toBe(Math.sign(c));
    }), { numRuns: 3000 });
  });

  test("round trip: the user key and the suffix come back", () => {
    fc.assert(fc.property(keyArb, suffixArb, (k, s) => {
      const e = concatKey(keyPrefixFor(NS_HEADS, k), s);
      const r = readEscapedKey(e, 1);
      expect(r.key).toEqual(k);
      expect(e.subarray(r.end)).toEqual(s);
    }));
  });

  test("a prefix scan over one key's entries never meets another key's", () => {
    fc.assert(fc.property(keyArb, keyArb, suffixArb, (a, b, s) => {
      fc.pre(cmp(a, b) !== 0);
      const pa = keyPrefixFor(NS_HEADS, a);
      const eb = concatKey(keyPrefixFor(NS_HEADS, b), s);
      const end = prefixEnd(pa)!;
      expect(cmp(eb, pa) >= 0 && cmp(eb, end) < 0).toBe(false);
    }), { numRuns: 3000 });
  });

  test("malformed escapes are CorruptionError", () => {
    expect(() => readEscapedKey(Uint8Array.from([NS_HEADS, 0x61, 0x00, 0x02]), 1)).toThrow(CorruptionError);
    expect(() => readEscapedKey(Uint8Array.from([NS_HEADS, 0x61]), 1)).toThrow(CorruptionError);
    expect(prefixEnd(Uint8Array.from([0x01, 0xff, 0xff]))).toEqual(Uint8Array.from([0x02]));
    expect(prefixEnd(Uint8Array.from([0xff]))).toBeUndefined();
  });
});
