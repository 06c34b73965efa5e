import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError, InvalidArgumentError } from "../../src/errors.ts";
import { compareBytes, toHex, utf8Encode } from "../../src/encoding/bytes.ts";
import { nativeSha256Available, sha256 } from "../../src/platform/sha256.ts";
import { HLC_MAX_COUNTER, HLC_MAX_MS, encodeHlc, formatHlc } from "../../src/versioned/hlc.ts";
import {
  RECORD_HASH_BYTES, RECORD_HEADER_BYTES, RECORD_MAX_HLC_COUNTER, RECORD_MAX_HLC_MS, RECORD_MAX_KEY_BYTES, RECORD_MAX_NODE_BYTES,
  RECORD_MAX_PARENTS, TOMBSTONE_VALUE_HASH, VERSION_RECORD_MAX_BYTES, VERSION_RECORD_MIN_BYTES, decodeVersionRecord,
  encodeVersionRecord, nodeIdBytes, versionId, versionIdBytes, type VersionRecord,
} from "../../src/versioned/record.ts";
import { hashFromHex, hashToHex, recordToVersion, versionToRecord } from "../../src/versioned/record-version.ts";

// ---------- golden vectors ----------

type KeyIn = string | { repeat: string; length: number };
interface Vector {
  name: string;
  record: {
    key: KeyIn; parents: string[]; hlc: { ms: number; counter: number }; node: string; deleted: boolean;
    valueHash: string; valueSize: number; value?: string;
  };
  parentsEncoded?: string[];
  bytesLength: number;
  bytes: string;
  id: string;
}
interface VectorFile { vectors: Vector[]; invalid: { name: string; why: string; bytes: string }[] }

const file = JSON.parse(readFileSync(new URL("../vectors/version-records.json", import.meta.url), "utf8")) as VectorFile;

function unhex(h: string): Uint8Array {
  expect(h).toMatch(/^([0-9a-f]{2})*$/);
  const out = new Uint8Array(h.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(h.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function keyOf(k: KeyIn): Uint8Array {
  if (typeof k === "string") return unhex(k);
  const p = unhex(k.repeat);
  const out = new Uint8Array(k.length);
  for (let i = 0; i < k.length; i++) out[i] = p[i % p.length]!;
  return out;
}

function recordOf(v: Vector): VersionRecord {
  const r = v.record;
  return {
    key: keyOf(r.key), parents: r.parents.map(unhex), hlc: r.hlc, node: r.node, deleted: r.deleted,
    valueHash: unhex(r.valueHash), valueSize: r.valueSize,
  };
}

/** The model of canonical parents: sorted ascending, unique. */
function sortedUnique(ps: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const p of [...ps].sort(compareBytes)) if (out.length === 0 || compareBytes(out[out.length - 1]!, p) !== 0) out.push(p);
  return out;
}

function normalized(r: VersionRecord): VersionRecord {
  return { ...r, key: new Uint8Array(r.key), valueHash: new Uint8Array(r.valueHash), parents: sortedUnique(r.parents).map((p) => new Uint8Array(p)), hlc: { ms: r.hlc.ms, counter: r.hlc.counter } };
}

const sha256Native = (b: Uint8Array): Uint8Array => sha256(b, "native");
const sha256Noble = (b: Uint8Array): Uint8Array => sha256(b, "noble");

describe("golden vectors (test/vectors/version-records.json)", () => {
  test("the file covers the required cases", () => {
    const names = file.vectors.map((v) => v.name);
    expect(names.length).toBeGreaterThanOrEqual(8);
    for (const n of ["minimal-empty-key", "binary-key", "one-parent", "several-parents-unsorted", "tombstone", "max-fields", "unicode-node"]) {
      expect(names).toContain(n);
    }
    expect(nativeSha256Available()).toBe(true);
  });

  for (const v of file.vectors) {
    test(`${v.name}: encodes to the committed bytes, hashes to the committed id, decodes to its fields`, () => {
      const r = recordOf(v);
      const bytes = encodeVersionRecord(r);
      expect(bytes.length).toBe(v.bytesLength);
      expect(toHex(bytes)).toBe(v.bytes);
      expect(versionId(bytes, sha256Native)).toBe(v.id);
      expect(versionId(bytes, sha256Noble)).toBe(v.id);
      const decoded = decodeVersionRecord(unhex(v.bytes));
      expect(decoded).toEqual(normalized(r));
      if (v.parentsEncoded !== undefined) expect(decoded.parents.map(toHex)).toEqual(v.parentsEncoded);
      if (v.record.value !== undefined) {
        const value = unhex(v.record.value);
        expect(toHex(sha256(value))).toBe(v.record.valueHash);
        expect(value.length).toBe(v.record.valueSize);
      }
      if (v.record.deleted) expect(v.record.valueHash).toBe("0".repeat(64));
      const version = recordToVersion(decoded, v.id);
      expect(version.id).toBe(v.id);
      expect(version.hlc).toBe(formatHlc(v.record.hlc));
      expect(encodeVersionRecord(versionToRecord(version))).toEqual(bytes);
    });
  }

  test("ids chain: every parent in the vectors (except max-fields') is the id of an earlier vector", () => {
    const seen = new Set<string>();
    for (const v of file.vectors) {
      if (v.name !== "max-fields") for (const p of v.record.parents) expect(seen.has(p)).toBe(true);
      seen.add(v.id);
    }
  });

  for (const bad of file.invalid) {
    test(`invalid vector ${bad.name} (${bad.why}) is a CorruptionError`, () => {
      expect(() => decodeVersionRecord(unhex(bad.bytes))).toThrow(CorruptionError);
    });
  }
});

// ---------- layout and limits ----------

const T = 1_700_000_000_000;
const H = (fill: number): Uint8Array => new Uint8Array(RECORD_HASH_BYTES).fill(fill);
const base: VersionRecord = { key: utf8Encode("k"), parents: [], hlc: { ms: T, counter: 1 }, node: "n1", deleted: false, valueHash: H(7), valueSize: 3 };

describe("layout", () => {
  test("header fields sit where SPEC says; the HLC is hlc.ts's 12-byte big-endian form", () => {
    expect(RECORD_MAX_HLC_MS).toBe(HLC_MAX_MS);
    expect(RECORD_MAX_HLC_COUNTER).toBe(HLC_MAX_COUNTER);
    const r: VersionRecord = { ...base, key: new Uint8Array([9, 8]), parents: [H(2), H(1)], hlc: { ms: 0x1234_5678_9a, counter: 0xdead_beef }, valueSize: 0x0102_0304_0506 };
    const b = encodeVersionRecord(r);
    expect([...b.subarray(0, 8)]).toEqual([1, 1, 0, 2, 2, 0, 2, 0]);
    expect(b.subarray(8, 20)).toEqual(encodeHlc(r.hlc));
    expect([...b.subarray(20, 28)]).toEqual([6, 5, 4, 3, 2, 1, 0, 0]);
    expect(b.subarray(28, 60)).toEqual(H(7));
    expect([...b.subarray(60, 64)]).toEqual([9, 8, 0x6e, 0x31]);
    expect(b.subarray(64, 96)).toEqual(H(1));
    expect(b.subarray(96, 128)).toEqual(H(2));
    expect(b.length).toBe(RECORD_HEADER_BYTES + 2 + 2 + 64);
  });

  test("tombstones set flag bit 0 and carry the zero hash", () => {
    const b = encodeVersionRecord({ ...base, deleted: true, valueHash: TOMBSTONE_VALUE_HASH, valueSize: 0 });
    expect(b[2]).toBe(1);
    expect(decodeVersionRecord(b).deleted).toBe(true);
  });

  test("the limits: 1,024 parents, 64-byte node, 65,535-byte key are accepted; one more is refused both ways", () => {
    const parents = Array.from({ length: RECORD_MAX_PARENTS }, (_, i) => { const p = H(0); p[0] = i >> 8; p[1] = i & 0xff; return p; });
    const big = encodeVersionRecord({ ...base, key: new Uint8Array(RECORD_MAX_KEY_BYTES), node: "x".repeat(RECORD_MAX_NODE_BYTES), parents });
    expect(big.length).toBe(VERSION_RECORD_MAX_BYTES);
    expect(decodeVersionRecord(big).parents.length).toBe(RECORD_MAX_PARENTS);
    const extra = H(0xff);
    expect(() => encodeVersionRecord({ ...base, parents: [...parents, extra] })).toThrow(InvalidArgumentError);
    expect(() => encodeVersionRecord({ ...base, key: new Uint8Array(RECORD_MAX_KEY_BYTES + 1) })).toThrow(InvalidArgumentError);
    // 1,025 parents with their bytes present: the count alone makes it corrupt.
    const small = encodeVersionRecord({ ...base, parents });
    const tooMany = new Uint8Array(small.length + 32);
    tooMany.set(small);
    tooMany.set(extra, small.length);
    tooMany[6] = 0x01;
    tooMany[7] = 0x04;
    expect(() => decodeVersionRecord(tooMany)).toThrow(/1025 parents/);
    expect(encodeVersionRecord({ ...base, key: new Uint8Array(0), node: "a" }).length).toBe(VERSION_RECORD_MIN_BYTES);
  });

  test("the encoder refuses out-of-range fields with InvalidArgumentError", () => {
    const bad: Partial<VersionRecord>[] = [
      { node: "" }, { node: "x".repeat(65) }, { node: "é".repeat(33) }, { node: "a\ud800" }, { node: "\udc00" },
      { hlc: { ms: HLC_MAX_MS + 1, counter: 0 } }, { hlc: { ms: -1, counter: 0 } }, { hlc: { ms: 1.5, counter: 0 } },
      { hlc: { ms: 0, counter: 2 ** 32 } }, { hlc: { ms: 0, counter: -1 } }, { hlc: { ms: Number.NaN, counter: 0 } },
      { valueSize: 2 ** 53 }, { valueSize: -1 }, { valueSize: 0.5 },
      { deleted: true }, { deleted: true, valueHash: TOMBSTONE_VALUE_HASH, valueSize: 1 }, { valueHash: TOMBSTONE_VALUE_HASH },
      { valueHash: new Uint8Array(31) }, { parents: [new Uint8Array(33)] },
    ];
    for (const b of bad) expect(() => encodeVersionRecord({ ...base, ...b })).toThrow(InvalidArgumentError);
    expect(nodeIdBytes("nœud")).toEqual(utf8Encode("nœud"));
  });

  test("decoding copies: changing the input afterwards changes nothing decoded", () => {
    const b = encodeVersionRecord({ ...base, parents: [H(3)] });
    const r = decodeVersionRecord(b);
    b.fill(0xee);
    expect(encodeVersionRecord(r)).toEqual(encodeVersionRecord({ ...base, parents: [H(3)] }));
  });

  test("CorruptionError names the record, file and offset given; non-bytes are corruption too", () => {
    const b = encodeVersionRecord(base);
    b[0] = 9;
    expect(() => decodeVersionRecord(b, { what: "version abcd of key \"k\"", file: "000007.sst", offset: 42 }))
      .toThrow(/version abcd of key "k": unknown hash algorithm tag 9 \(file 000007.sst at offset 42\)/);
    expect(() => decodeVersionRecord("nope" as unknown as Uint8Array)).toThrow(CorruptionError);
    expect(() => versionIdBytes(b, sha256)).toThrow(CorruptionError);
    expect(() => versionIdBytes(new Uint8Array(0), sha256)).toThrow(CorruptionError);
  });
});

describe("the Version mapping", () => {
  test("hex ids are exactly 64 lowercase digits", () => {
    const id = H(0xab);
    expect(hashToHex(id)).toBe("ab".repeat(32));
    expect(hashFromHex("ab".repeat(32))).toEqual(id);
    for (const s of ["AB".repeat(32), "ab".repeat(31), "ab".repeat(33), "1:" + "ab".repeat(31), "zz".repeat(32)]) {
      expect(() => hashFromHex(s)).toThrow(InvalidArgumentError);
    }
  });

  test("recordToVersion gives API.md's shape", () => {
    const b = encodeVersionRecord({ ...base, parents: [H(2), H(1)] });
    const r = decodeVersionRecord(b);
    const v = recordToVersion(r, versionIdBytes(b, sha256));
    expect(v).toEqual({
      id: toHex(sha256(b)), key: utf8Encode("k"), parents: ["01".repeat(32), "02".repeat(32)], hlc: "1700000000000-00000001",
      node: "n1", deleted: false, valueHash: "07".repeat(32), size: 3,
    });
    expect(() => versionToRecord({ ...v, hlc: "yesterday" })).toThrow(InvalidArgumentError);
  });
});

// ---------- properties and fuzzing ----------

const hashArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const nodeArb = fc.string({ unit: "grapheme", minLength: 1, maxLength: 12 }).filter((s) => { const n = utf8Encode(s).length; return n >= 1 && n <= 64; });
const recordArb: fc.Arbitrary<VersionRecord> = fc.record({
  key: fc.uint8Array({ maxLength: 40 }),
  parents: fc.array(fc.oneof(hashArb, fc.constantFrom(H(0), H(1), H(0xff))), { maxLength: 6 }),
  hlc: fc.record({ ms: fc.oneof(fc.integer({ min: 0, max: HLC_MAX_MS }), fc.constantFrom(0, HLC_MAX_MS)), counter: fc.integer({ min: 0, max: HLC_MAX_COUNTER }) }),
  node: nodeArb,
  deleted: fc.boolean(),
  valueHash: hashArb.filter((h) => h.some((x) => x !== 0)),
  valueSize: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
}).map((r) => (r.deleted ? { ...r, valueHash: TOMBSTONE_VALUE_HASH, valueSize: 0 } : r));

/** Decodes or returns "corrupt"; any exception other than CorruptionError fails the test. */
function decodeOrCorrupt(b: Uint8Array): VersionRecord | "corrupt" {
  try {
    return decodeVersionRecord(b);
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    return "corrupt";
  }
}

/** The fuzz invariant: corrupt, or a record whose canonical bytes are exactly the input. */
function checkCanonical(b: Uint8Array): boolean {
  const r = decodeOrCorrupt(b);
  if (r === "corrupt") return false;
  expect(encodeVersionRecord(r)).toEqual(b);
  return true;
}

describe("canonical form", () => {
  test("random records round-trip; encoding is independent of parent order and repeats", () => {
    fc.assert(fc.property(recordArb, fc.integer(), (r, seed) => {
      const b = encodeVersionRecord(r);
      const d = decodeVersionRecord(b);
      expect(d).toEqual(normalized(r));
      expect(encodeVersionRecord(d)).toEqual(b);
      const shuffled = [...r.parents, ...r.parents.slice(0, 2)].sort(() => ((seed = (seed * 1103515245 + 12345) | 0) & 1 ? 1 : -1));
      expect(encodeVersionRecord({ ...r, parents: shuffled })).toEqual(b);
    }), { numRuns: 1000 });
  });

  test("changing any one field changes the bytes (and so the id); reordering parents does not", () => {
    const change = fc.constantFrom("key", "parent", "ms", "counter", "node", "deleted", "hash", "size", "reorder");
    fc.assert(fc.property(recordArb, change, (r, what) => {
      const before = encodeVersionRecord(r);
      const bump = (n: number, max: number): number => (n < max ? n + 1 : n - 1);
      const flipped = (h: Uint8Array): Uint8Array => { const c = h.slice(); c[31]! ^= 1; return c.some((x) => x !== 0) ? c : H(9); };
      const s: VersionRecord =
        what === "key" ? { ...r, key: new Uint8Array([...r.key, 0]) }
        : what === "parent" ? { ...r, parents: r.parents.length === 0 ? [H(5)] : sortedUnique(r.parents).slice(1) }
        : what === "ms" ? { ...r, hlc: { ...r.hlc, ms: bump(r.hlc.ms, HLC_MAX_MS) } }
        : what === "counter" ? { ...r, hlc: { ...r.hlc, counter: bump(r.hlc.counter, HLC_MAX_COUNTER) } }
        : what === "node" ? { ...r, node: r.node === "a" ? "b" : "a" }
        : what === "deleted" ? (r.deleted ? { ...r, deleted: false, valueHash: H(1) } : { ...r, deleted: true, valueHash: TOMBSTONE_VALUE_HASH, valueSize: 0 })
        : what === "hash" ? (r.deleted ? { ...r, deleted: false, valueHash: H(1) } : { ...r, valueHash: flipped(r.valueHash) })
        : what === "size" ? (r.deleted ? { ...r, deleted: false, valueHash: H(1), valueSize: 1 } : { ...r, valueSize: bump(r.valueSize, Number.MAX_SAFE_INTEGER) })
        : { ...r, parents: [...r.parents].reverse() };
      const after = encodeVersionRecord(s);
      expect(compareBytes(before, after) === 0).toBe(what === "reorder");
      expect(versionId(before, sha256) === versionId(after, sha256)).toBe(what === "reorder");
    }), { numRuns: 1000 });
  });

  test("random bytes: CorruptionError, or a record that re-encodes to exactly them", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (b) => { checkCanonical(b); }), { numRuns: 3000 });
  });

  test("random bytes behind a plausible header: same invariant, and some are accepted", () => {
    const shape = fc.record({
      tag: fc.constantFrom(1, 1, 1, 2), flags: fc.constantFrom(0, 0, 0, 1, 2), node: fc.integer({ min: 0, max: 4 }),
      key: fc.integer({ min: 0, max: 6 }), parents: fc.integer({ min: 0, max: 2 }), slack: fc.constantFrom(0, 0, 0, 0, -1, 1),
    });
    let accepted = 0;
    fc.assert(fc.property(shape, fc.uint8Array({ minLength: 200, maxLength: 200 }), (h, noise) => {
      const length = RECORD_HEADER_BYTES + h.key + h.node + 32 * h.parents + h.slack;
      if (length < 8) return;
      const b = noise.slice(0, length);
      if (b.length < length) return;
      b.set([h.tag, 1, h.flags, h.node, h.key, 0, h.parents, 0]);
      b[8] = 0; b[9] = 0; b[10] &= 0x07; // ms below the maximum
      b[26] &= 0x1f; b[27] = 0; // value size below 2^53
      for (let i = RECORD_HEADER_BYTES + h.key; i < RECORD_HEADER_BYTES + h.key + h.node && i < b.length; i++) b[i]! &= 0x7f; // ASCII node
      if (checkCanonical(b)) accepted++;
    }), { numRuns: 3000 });
    expect(accepted).toBeGreaterThan(100);
  });

  test("mutated valid records (bit flips, byte sets, cuts, extensions, splices): same invariant", () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("set" as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("extend" as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant("splice" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
    );
    let accepted = 0;
    fc.assert(fc.property(recordArb, fc.array(mutation, { minLength: 1, maxLength: 3 }), (r, ms) => {
      let b = encodeVersionRecord(r);
      for (const m of ms) {
        if (m.kind === "flip") b[m.at % b.length]! ^= 1 << m.bit;
        else if (m.kind === "set") b[m.at % b.length] = m.value;
        else if (m.kind === "cut") b = b.slice(0, m.at % b.length);
        else if (m.kind === "extend") b = new Uint8Array([...b, ...m.extra]);
        else if (b.length > 0) b = new Uint8Array([...b.subarray(0, m.at % b.length), ...m.bytes, ...b.subarray(m.at % b.length)]);
      }
      if (checkCanonical(b)) accepted++;
    }), { numRuns: 3000 });
    // Flips in hashes, counters and key bytes stay valid records: the decoder is not just rejecting everything.
    expect(accepted).toBeGreaterThan(100);
  });

  test("every single-bit flip of every small golden vector: corrupt, or another canonical record with another id", () => {
    for (const v of file.vectors.filter((x) => x.bytesLength < 1000)) {
      const good = unhex(v.bytes);
      for (let i = 0; i < good.length * 8; i++) {
        const b = good.slice();
        b[i >> 3]! ^= 1 << (i & 7);
        if (checkCanonical(b)) expect(versionId(b, sha256)).not.toBe(v.id);
      }
    }
  });
});
