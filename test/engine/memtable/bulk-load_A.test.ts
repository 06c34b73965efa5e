/**
 * Recovery's bulk loader builds the same memtable as inserting every
 * version in log order: same keys, same versions per key newest first,
 * same reads at every snapshot, same size charge.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MemTableLoader, sortedOrder } from "../../../src/engine/memtable/bulk-load.ts";
import { KIND_DELETE, KIND_PUT, KIND_VALUE_POINTER, MemTable } from "../../../src/engine/memtable/memtable.ts";

// Keys that share long prefixes (ties of the 6-byte numeric prefix), differ only past the sixth byte, or are short.
const keyArb = fc.oneof(
  fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 3 }).map((a) => String.fromCharCode(...a)),
  fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 6, maxLength: 9 }).map((a) => "prefix" + String.fromCharCode(...a)),
  fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 16 }).map((a) => String.fromCharCode(...a)),
);
const versionArb = fc.record({ key: keyArb, kind: fc.constantFrom(KIND_PUT, KIND_DELETE, KIND_VALUE_POINTER), len: fc.nat(20) });

function dump(mem: MemTable, seq: number): Array<[string, Array<[number, number, number[] | undefined]>]> {
  const out: Array<[string, Array<[number, number, number[] | undefined]>]> = [];
  const it = mem.iterator();
  for (it.seekFirst(); it.valid(); it.next()) {
    const e = it.visible(seq);
    out.push([it.key(), it.versions().map((v) => [v.seq, v.kind, v.value === undefined ? undefined : [...v.value]])]);
    if (e !== undefined) expect(mem.get(it.key(), seq)).toEqual(e);
  }
  return out;
}

describe("MemTableLoader", () => {
  test("equals a memtable filled version by version, at every snapshot", () => {
    fc.assert(
      fc.property(fc.array(versionArb, { maxLength: 300, size: "max" }), fc.nat(400), (versions, snapAt) => {
        const buf = new Uint8Array(64).map((_, i) => i);
        const loader = new MemTableLoader();
        const direct = new MemTable();
        versions.forEach((v, i) => {
          const b = v.kind === KIND_DELETE ? undefined : buf;
          loader.add(v.key, i + 1, v.kind, b, i % 40, b === undefined ? 0 : v.len);
          direct.addSlice(v.key, i + 1, v.kind, b, i % 40, b === undefined ? 0 : v.len);
        });
        const built = loader.build();
        expect(built.keyCount).toBe(direct.keyCount);
        expect(built.versionCount).toBe(direct.versionCount);
        expect(built.sizeBytes).toBe(direct.sizeBytes);
        expect(built.lastSeq).toBe(direct.lastSeq);
        const snap = Math.min(snapAt, versions.length);
        expect(dump(built, snap)).toEqual(dump(direct, snap));
        expect(dump(built, versions.length)).toEqual(dump(direct, versions.length));
        // The built memtable takes new versions like any other.
        built.addSlice("zz-new", versions.length + 1, KIND_PUT, buf, 0, 3);
        expect(built.get("zz-new", versions.length + 1)?.value).toEqual(buf.subarray(0, 3));
      }),
      { numRuns: 200 },
    );
  });

  test("sortedOrder is a stable sort by key, also when every key shares its first six bytes", () => {
    const keys = ["abcdefZ", "abcdefA", "abcdef", "b", "abcdefA", "", "abc"];
    const { order } = sortedOrder(keys);
    expect([...order]).toEqual([5, 6, 2, 1, 4, 0, 3]);
  });
});
