/**
 * Value-log discard statistics in the manifest (SPEC.md, "Discard
 * statistics"): tag 7 (per-file garbage bytes; a delta in an edit, the total
 * in a snapshot) and tag 8 (a forgotten file) round-trip canonically, the
 * decoder refuses every other form, and the version set's totals are the sum
 * of the durable deltas across edits, reopens and manifest rotations.
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError, InvalidArgumentError } from "../../../src/errors.ts";
import { putVarint } from "../../../src/encoding/varint.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { SeededRandom } from "../../../src/platform/random.ts";
import { readManifest, ManifestWriter } from "../../../src/engine/manifest/manifest-log.ts";
import { replayManifest } from "../../../src/engine/manifest/replay.ts";
import { VersionSet } from "../../../src/engine/manifest/version-set.ts";
import {
  canonicalEdit, decodeVersionEdit, encodeVersionEdit, TAG_ADDED_FILE, TAG_LAST_SEQ, TAG_VLOG_DISCARD, TAG_VLOG_FORGET, type VersionEdit,
} from "../../../src/engine/manifest/version-edit.ts";
import { writeCurrent } from "../../../src/engine/manifest/current.ts";
import { metaFor } from "./helpers.ts";

const DIR = "/db";

function newFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  return fs;
}

function field(tag: number, ...varints: number[]): number[] {
  const body = new Uint8Array(10 * varints.length);
  let at = 0;
  for (const v of varints) at = putVarint(body, at, v);
  const head = new Uint8Array(20);
  let h = putVarint(head, 0, tag);
  h = putVarint(head, h, at);
  return [...head.subarray(0, h), ...body.subarray(0, at)];
}

const big = fc.oneof(fc.integer({ min: 1, max: 300 }), fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }));
/** Discards and forgets over disjoint file numbers (an edit may not name a file in both). */
const vlogArb = fc.uniqueArray(fc.record({ fileNumber: big, bytes: big, forget: fc.boolean() }), { selector: (r) => r.fileNumber, maxLength: 8 })
  .map((rs) => ({
    vlogDiscard: rs.filter((r) => !r.forget).map((r) => ({ fileNumber: r.fileNumber, bytes: r.bytes })),
    vlogForget: rs.filter((r) => r.forget).map((r) => r.fileNumber),
  }));
const editArb: fc.Arbitrary<VersionEdit> = fc.record({
  vlog: vlogArb,
  lastSeq: fc.option(fc.nat(), { nil: undefined }),
  added: fc.boolean(),
}).map((r) => ({
  ...r.vlog,
  ...(r.lastSeq !== undefined ? { lastSeq: r.lastSeq } : {}),
  ...(r.added ? { added: [{ level: 1, ...metaFor(3) }] } : {}),
}));

describe("version edit tags 7 and 8 (value-log discard and forget)", () => {
  test("round trip: decode(encode(e)) is e in canonical order, encode(decode(b)) is b, caller order does not matter", () => {
    fc.assert(fc.property(editArb, (e) => {
      const bytes = encodeVersionEdit(e);
      const back = decodeVersionEdit(bytes);
      expect(back).toEqual(canonicalEdit(e));
      expect(encodeVersionEdit(back)).toEqual(bytes);
      const reversed = { ...e, vlogDiscard: [...(e.vlogDiscard ?? [])].reverse(), vlogForget: [...(e.vlogForget ?? [])].reverse() };
      expect(encodeVersionEdit(reversed)).toEqual(bytes);
    }), { numRuns: 400 });
  });

  test("the byte form: one field per file, tags 7 then 8 after the added files", () => {
    const bytes = encodeVersionEdit({ vlogDiscard: [{ fileNumber: 9, bytes: 300 }, { fileNumber: 4, bytes: 22 }], vlogForget: [2], lastSeq: 5 });
    expect([...bytes]).toEqual([...field(TAG_LAST_SEQ, 5), ...field(TAG_VLOG_DISCARD, 4, 22), ...field(TAG_VLOG_DISCARD, 9, 300), ...field(TAG_VLOG_FORGET, 2)]);
  });

  test("non-canonical or impossible forms are CorruptionError: unsorted, duplicate, zero bytes, file 0, trailing bytes, short body, order", () => {
    const bad: [string, number[]][] = [
      ["unsorted", [...field(TAG_VLOG_DISCARD, 9, 1), ...field(TAG_VLOG_DISCARD, 4, 1)]],
      ["duplicate", [...field(TAG_VLOG_DISCARD, 4, 1), ...field(TAG_VLOG_DISCARD, 4, 2)]],
      ["zero bytes", field(TAG_VLOG_DISCARD, 4, 0)],
      ["file 0", field(TAG_VLOG_DISCARD, 0, 5)],
      ["trailing bytes", field(TAG_VLOG_DISCARD, 4, 5, 1)],
      ["body without bytes", field(TAG_VLOG_DISCARD, 4)],
      ["overlong varint", [TAG_VLOG_DISCARD, 3, 0x84, 0x00, 5]],
      ["overlong bytes varint", [TAG_VLOG_DISCARD, 3, 4, 0x85, 0x00]],
      ["overlong field length", [TAG_VLOG_DISCARD, 0x82, 0x00, 4, 5]],
      ["tag 7 before tag 6", [...field(TAG_VLOG_DISCARD, 4, 1), ...encodeVersionEdit({ added: [{ level: 1, ...metaFor(3) }] })]],
      ["forget unsorted", [...field(TAG_VLOG_FORGET, 5), ...field(TAG_VLOG_FORGET, 3)]],
      ["forget duplicate", [...field(TAG_VLOG_FORGET, 5), ...field(TAG_VLOG_FORGET, 5)]],
      ["forget trailing", field(TAG_VLOG_FORGET, 5, 1)],
      ["forget file 0", field(TAG_VLOG_FORGET, 0)],
      ["forget before discard", [...field(TAG_VLOG_FORGET, 5), ...field(TAG_VLOG_DISCARD, 4, 1)]],
      ["forgotten and discarded", [...field(TAG_VLOG_DISCARD, 5, 1), ...field(TAG_VLOG_FORGET, 5)]],
      // 2^53 as a varint: seven 0x80 bytes, then 0x10.
      ["bytes past 2^53", [TAG_VLOG_DISCARD, 9, 4, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x10]],
    ];
    for (const [what, b] of bad) expect(() => decodeVersionEdit(new Uint8Array(b)), what).toThrow(CorruptionError);
    // The canonical versions of the first cases decode.
    expect(decodeVersionEdit(new Uint8Array([...field(TAG_VLOG_DISCARD, 4, 1), ...field(TAG_VLOG_DISCARD, 9, 1)])).vlogDiscard).toHaveLength(2);
    expect(decodeVersionEdit(new Uint8Array([...field(TAG_VLOG_DISCARD, 4, 1), ...field(TAG_VLOG_FORGET, 5)])).vlogForget).toEqual([5]);
  });

  test("the encoder refuses the same with InvalidArgumentError", () => {
    const bad: VersionEdit[] = [
      { vlogDiscard: [{ fileNumber: 4, bytes: 0 }] },
      { vlogDiscard: [{ fileNumber: 0, bytes: 1 }] },
      { vlogDiscard: [{ fileNumber: 4, bytes: 1 }, { fileNumber: 4, bytes: 2 }] },
      { vlogDiscard: [{ fileNumber: 4, bytes: 1.5 }] },
      { vlogDiscard: [{ fileNumber: 4, bytes: 2 ** 53 }] },
      { vlogForget: [3, 3] },
      { vlogForget: [0] },
      { vlogDiscard: [{ fileNumber: 4, bytes: 1 }], vlogForget: [4] },
    ];
    for (const e of bad) expect(() => encodeVersionEdit(e), JSON.stringify(e)).toThrow(InvalidArgumentError);
  });

  test("any decodable byte string without hints is canonical: encode(decode(b)) = b (overlong varints refused in every field)", () => {
    const pieces = fc.oneof(
      fc.constantFrom(...[1, 2, 3, 5, 7, 8].map((t) => [t])),
      fc.constantFrom([0x80, 0x00], [0x81, 0x00], [0x84, 0x80, 0x00]),
      // Bytes below 64 only: a skippable hint (tag >= 64) is the one field encode() does not reproduce.
      fc.array(fc.integer({ min: 0, max: 63 }), { minLength: 1, maxLength: 3 }),
    );
    fc.assert(fc.property(fc.array(pieces, { maxLength: 12 }), (ps) => {
      const b = new Uint8Array(ps.flat());
      try {
        expect(encodeVersionEdit(decodeVersionEdit(b))).toEqual(b);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }), { numRuns: 3000 });
    expect(() => decodeVersionEdit(new Uint8Array([0x81, 0x00, 1, 5]))).toThrow(/canonical/);
    expect(decodeVersionEdit(new Uint8Array([1, 1, 5]))).toEqual({ logNumber: 5 });
  });

  test("every truncation of an edit with discards is refused or ends at a field boundary; random bytes never throw anything but CorruptionError", () => {
    const bytes = encodeVersionEdit({ vlogDiscard: [{ fileNumber: 70_000, bytes: 123_456_789 }, { fileNumber: 70_001, bytes: 22 }], vlogForget: [300] });
    for (let n = 0; n < bytes.length; n++) {
      try {
        const e = decodeVersionEdit(bytes.subarray(0, n));
        expect(encodeVersionEdit(e)).toEqual(bytes.subarray(0, n));
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }
    fc.assert(fc.property(fc.uint8Array({ maxLength: 40 }), (b) => {
      const withTag = new Uint8Array([TAG_VLOG_DISCARD, ...b]);
      try {
        // Equal unless a skippable hint (tag >= 64) was dropped: see the canonical-form test above.
        expect(encodeVersionEdit(decodeVersionEdit(withTag)).length).toBeLessThanOrEqual(withTag.length);
      } catch (err) {
        expect(err).toBeInstanceOf(CorruptionError);
      }
    }), { numRuns: 1000 });
  });
});

type Model = Map<number, number>;

function sorted(m: ReadonlyMap<number, number>): [number, number][] {
  return [...m].sort((a, b) => a[0] - b[0]);
}

describe("VersionSet discard totals", () => {
  test("totals sum the deltas of every edit, across reopens and rotations, and forget drops a file (model)", async () => {
    type Cmd = { c: "discard"; files: [number, number][] } | { c: "forget"; pick: number } | { c: "reopen" } | { c: "load" };
    const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
      { weight: 6, arbitrary: fc.record({ c: fc.constant("discard" as const), files: fc.uniqueArray(fc.tuple(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 1 << 30 })), { selector: (t) => t[0], minLength: 1, maxLength: 3 }) }) },
      { weight: 2, arbitrary: fc.record({ c: fc.constant("forget" as const), pick: fc.nat() }) },
      { weight: 1, arbitrary: fc.constant({ c: "reopen" as const }) },
      { weight: 1, arbitrary: fc.constant({ c: "load" as const }) },
    );
    await fc.assert(fc.asyncProperty(fc.array(cmdArb, { maxLength: 30 }), fc.constantFrom(1, 300, 1 << 20), async (cmds, rotateBytes) => {
      const fs = newFs();
      let vs = await VersionSet.create(fs, DIR, new SeededRandom(5), { manifestRotateBytes: rotateBytes, nextFileNumber: 10 });
      const m: Model = new Map();
      for (const cmd of cmds) {
        if (cmd.c === "discard") {
          await vs.logAndApply({ vlogDiscard: cmd.files.map(([fileNumber, bytes]) => ({ fileNumber, bytes })) });
          for (const [f, b] of cmd.files) m.set(f, (m.get(f) ?? 0) + b);
        } else if (cmd.c === "forget") {
          const f = [...m.keys()][cmd.pick % Math.max(1, m.size)] ?? 1 + (cmd.pick % 6);
          await vs.forgetValueLogFile(f);
          m.delete(f);
        } else if (cmd.c === "load") {
          const ro = await VersionSet.load(fs, DIR);
          expect(sorted(ro.vlogDiscard())).toEqual(sorted(m));
          await ro.close();
        } else {
          await vs.close();
          vs = await VersionSet.recover(fs, DIR, new SeededRandom(6), { manifestRotateBytes: rotateBytes });
        }
        expect(sorted(vs.vlogDiscard())).toEqual(sorted(m));
      }
      await vs.close();
      const back = await VersionSet.recover(fs, DIR, new SeededRandom(7));
      expect(sorted(back.vlogDiscard())).toEqual(sorted(m));
      await back.close();
    }), { numRuns: 60 });
  });

  test("a manifest rotation writes the totals into the new snapshot record; later edits carry deltas", async () => {
    const fs = newFs();
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(1), { manifestRotateBytes: 1 << 20, nextFileNumber: 10 });
    await vs.logAndApply({ vlogDiscard: [{ fileNumber: 3, bytes: 100 }, { fileNumber: 5, bytes: 7 }] });
    await vs.logAndApply({ vlogDiscard: [{ fileNumber: 3, bytes: 50 }] });
    const first = readManifest(fs, DIR, vs.manifestNumber);
    expect(first.records.map((r) => r.edit.vlogDiscard)).toEqual([undefined, [{ fileNumber: 3, bytes: 100 }, { fileNumber: 5, bytes: 7 }], [{ fileNumber: 3, bytes: 50 }]]);
    await vs.close();
    // recover() rotates: its snapshot holds the totals.
    const back = await VersionSet.recover(fs, DIR, new SeededRandom(2), { manifestRotateBytes: 1 << 20 });
    const snap = readManifest(fs, DIR, back.manifestNumber);
    expect(snap.records).toHaveLength(1);
    expect(snap.records[0]!.edit.vlogDiscard).toEqual([{ fileNumber: 3, bytes: 150 }, { fileNumber: 5, bytes: 7 }]);
    await back.logAndApply({ vlogDiscard: [{ fileNumber: 5, bytes: 1 }, { fileNumber: 8, bytes: 2 }] });
    expect(sorted(back.vlogDiscard())).toEqual([[3, 150], [5, 8], [8, 2]]);
    expect(replayManifest(fs, DIR, back.manifestNumber).vlogDiscard).toEqual(back.vlogDiscard());
    await back.close();
  });

  test("forgetValueLogFile drops a file's total durably; a later delta starts a new total", async () => {
    const fs = newFs();
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(1), { nextFileNumber: 10 });
    await vs.logAndApply({ vlogDiscard: [{ fileNumber: 3, bytes: 100 }, { fileNumber: 4, bytes: 9 }] });
    const before = vs.vlogDiscard();
    await vs.forgetValueLogFile(3);
    expect(sorted(before)).toEqual([[3, 100], [4, 9]]); // a map handed out never changes
    expect(sorted(vs.vlogDiscard())).toEqual([[4, 9]]);
    const records = readManifest(fs, DIR, vs.manifestNumber).records;
    expect(records[records.length - 1]!.edit.vlogForget).toEqual([3]);
    await vs.close();
    const back = await VersionSet.recover(fs, DIR, new SeededRandom(2));
    expect(sorted(back.vlogDiscard())).toEqual([[4, 9]]);
    await back.logAndApply({ vlogDiscard: [{ fileNumber: 3, bytes: 5 }] });
    expect(sorted(back.vlogDiscard())).toEqual([[3, 5], [4, 9]]);
    await back.forgetValueLogFile(99); // a file without a total: allowed, nothing changes
    expect(sorted(back.vlogDiscard())).toEqual([[3, 5], [4, 9]]);
    await back.close();
    const ro = await VersionSet.load(fs, DIR);
    await expect(ro.forgetValueLogFile(3)).rejects.toThrow(/read-only|ReadOnly/i);
    await ro.close();
  });

  test("logAndApply refuses a discard for a file number never handed out, or that overflows a total, and writes nothing", async () => {
    const fs = newFs();
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(1), { nextFileNumber: 10 });
    await vs.logAndApply({ vlogDiscard: [{ fileNumber: 4, bytes: Number.MAX_SAFE_INTEGER - 1 }] });
    const size = vs.manifestSizeBytes;
    await expect(vs.logAndApply({ vlogDiscard: [{ fileNumber: vs.nextFileNumber, bytes: 1 }] })).rejects.toThrow(/not handed out/);
    await expect(vs.logAndApply({ vlogDiscard: [{ fileNumber: 4, bytes: 2 }] })).rejects.toThrow(InvalidArgumentError);
    await expect(vs.logAndApply({ vlogDiscard: [{ fileNumber: 4, bytes: 0 }] })).rejects.toThrow(InvalidArgumentError);
    expect(vs.manifestSizeBytes).toBe(size);
    expect(sorted(vs.vlogDiscard())).toEqual([[4, Number.MAX_SAFE_INTEGER - 1]]);
    await vs.close();
  });

  test("replay refuses a snapshot that forgets, a discard for a number beyond the counter, and a total past 2^53", async () => {
    const cases: [string, VersionEdit, VersionEdit[]][] = [
      ["snapshot forgets", { logNumber: 0, nextFileNumber: 10, lastSeq: 0, vlogForget: [3] }, []],
      ["snapshot names an unknown file", { logNumber: 0, nextFileNumber: 10, lastSeq: 0, vlogDiscard: [{ fileNumber: 10, bytes: 1 }] }, []],
      ["edit names an unknown file", { logNumber: 0, nextFileNumber: 10, lastSeq: 0 }, [{ vlogDiscard: [{ fileNumber: 12, bytes: 1 }] }]],
      ["total overflows", { logNumber: 0, nextFileNumber: 10, lastSeq: 0, vlogDiscard: [{ fileNumber: 3, bytes: Number.MAX_SAFE_INTEGER }] }, [{ vlogDiscard: [{ fileNumber: 3, bytes: 1 }] }]],
    ];
    for (const [what, snapshot, edits] of cases) {
      const fs = newFs();
      const w = ManifestWriter.create(fs, DIR, 2, 77, snapshot);
      for (const e of edits) w.append(e);
      await w.sync();
      w.close();
      await writeCurrent(fs, DIR, 2);
      expect(() => replayManifest(fs, DIR, 2), what).toThrow(CorruptionError);
      await expect(VersionSet.recover(fs, DIR, new SeededRandom(1)), what).rejects.toThrow(CorruptionError);
    }
    // The same snapshot with a valid delta replays.
    const fs = newFs();
    const w = ManifestWriter.create(fs, DIR, 2, 77, { logNumber: 0, nextFileNumber: 10, lastSeq: 0, vlogDiscard: [{ fileNumber: 3, bytes: 40 }] });
    w.append({ vlogDiscard: [{ fileNumber: 3, bytes: 2 }, { fileNumber: 9, bytes: 1 }] });
    w.append({ vlogForget: [9] });
    await w.sync();
    w.close();
    expect(sorted(replayManifest(fs, DIR, 2).vlogDiscard)).toEqual([[3, 42]]);
  });
});
