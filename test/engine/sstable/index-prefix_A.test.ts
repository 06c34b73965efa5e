import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { findBlock, findBlockByPrefix, keyPrefix, separatorPrefixes } from "../../../src/engine/sstable/index-block.ts";
import { compareLatin1 } from "./sstable-helpers.ts";

/** Latin1 keys from a small alphabet with 0x00 and 0xff, so prefixes tie often and padding matters. */
const tightKey = fc.array(fc.constantFrom(0, 1, 0x61, 0x62, 0xfe, 0xff), { maxLength: 9 }).map((cs) => String.fromCharCode(...cs));

describe("separator prefixes", () => {
  test("a smaller prefix means a smaller key", () => {
    fc.assert(
      fc.property(tightKey, tightKey, (a, b) => {
        if (keyPrefix(a) < keyPrefix(b)) expect(compareLatin1(a, b)).toBeLessThan(0);
      }),
      { numRuns: 2000 },
    );
    // Padding: a key and the same key followed by 0x00 tie on the prefix but are ordered.
    expect(keyPrefix("ab")).toBe(keyPrefix("ab\0"));
    expect(findBlockByPrefix(["ab", "ab\0"], separatorPrefixes(["ab", "ab\0"]), "ab\0")).toBe(1);
  });

  test("findBlockByPrefix answers as findBlock", () => {
    fc.assert(
      fc.property(fc.array(tightKey, { maxLength: 40 }), fc.array(tightKey, { maxLength: 20 }), (raw, probes) => {
        const seps = [...raw].sort(compareLatin1);
        const prefixes = separatorPrefixes(seps);
        for (const k of [...probes, ...seps]) expect(findBlockByPrefix(seps, prefixes, k)).toBe(findBlock(seps, k));
      }),
      { numRuns: 500 },
    );
  });
});
