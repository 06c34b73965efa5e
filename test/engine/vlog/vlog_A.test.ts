import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { BudgetExceededError, ClosedError, CorruptionError, InvalidArgumentError } from "../../../src/errors.ts";
import { VLOG_FILE_HEADER_BYTES, VLOG_RECORD_HEADER_BYTES, recordBytes } from "../../../src/engine/vlog/format.ts";
import { samePointer } from "../../../src/engine/vlog/pointer.ts";
import { ValueBeyondEndError, readValue } from "../../../src/engine/vlog/reader.ts";
import { ValueLogWriter } from "../../../src/engine/vlog/writer.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { FILE_NUMBER, PATH, newFs, recs, scanAll, scanFile, writeFile, type Rec } from "./vlog-helpers.ts";

const latin1Key = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((cs) => String.fromCharCode(...cs));
const recArb: fc.Arbitrary<Rec> = fc.record({
  key: latin1Key,
  seq: fc.oneof(fc.integer({ min: 0, max: 1_000_000 }), fc.constant(Number.MAX_SAFE_INTEGER)),
  value: fc.uint8Array({ maxLength: 3000 }),
});

describe("value log: write, read, scan", () => {
  test("random records round-trip through pointers and through the scan, across flush groups and chunk sizes", () => {
    fc.assert(fc.property(fc.array(fc.array(recArb, { maxLength: 8 }), { maxLength: 6 }), fc.constantFrom(64, 100, 4096, 1 << 20), (groups, chunkBytes) => {
      const fs = newFs();
      const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 99);
      const all: { r: Rec; p: ReturnType<typeof w.append> }[] = [];
      let size = VLOG_FILE_HEADER_BYTES;
      for (const g of groups) {
        for (const r of g) {
          const p = w.append(r.key, r.seq, r.value);
          size += recordBytes(r.key.length, r.value.length);
          expect(p.length).toBe(recordBytes(r.key.length, r.value.length));
          expect(w.size).toBe(size);
          all.push({ r, p });
        }
        w.flush();
        expect(w.bufferedBytes).toBe(0);
      }
      w.close();
      const h = fs.open(PATH, { readOnly: true });
      expect(h.size()).toBe(size);
      for (const { r, p } of all) {
        expect(readValue(h, p, { key: r.key, seq: r.seq })).toEqual(r.value);
      }
      for (const verifyValues of [true, false]) {
        const { records, end } = scanAll(h, { chunkBytes, verifyValues });
        expect(end).toMatchObject({ status: "clean", validEndBytes: size, records: all.length });
        expect(records.map((x) => [x.key, x.seq, x.valueBytes])).toEqual(all.map(({ r }) => [r.key, r.seq, r.value.length]));
        records.forEach((x, i) => expect(samePointer(x.pointer, all[i]!.p)).toBe(true));
      }
      h.close();
    }), { numRuns: 60 });
  });

  test("a value larger than the scan window is checked piece by piece; resuming at a record boundary works", () => {
    const { fs, written } = writeFile([{ key: "big", seq: 1, value: new Uint8Array(300_000).fill(7) }, ...recs(3)]);
    const h = fs.open(PATH, { readOnly: true });
    const { records, end } = scanAll(h, { chunkBytes: 4096 });
    expect(end.status).toBe("clean");
    expect(records.map((r) => r.key)).toEqual(written.map((r) => r.key));
    const resumed = scanAll(h, { startOffset: records[2]!.offset, chunkBytes: 4096 });
    expect(resumed.records.map((r) => r.seq)).toEqual([written[2]!.seq, written[3]!.seq]);
    h.close();
    (fs as MemFileSystem).flipBit(PATH, records[0]!.offset + 200_000, 3);
    const again = scanFile(fs, PATH, { chunkBytes: 4096 });
    expect(again.end.status).toBe("corrupt");
    expect(again.end.nextValidOffset).toBe(records[1]!.offset);
    expect(scanFile(fs, PATH, { verifyValues: false }).end.status).toBe("clean"); // headers only: the value flip goes unseen there
  });

  test("readValue: expectations, wrong pointers, pointers past the end", () => {
    const { fs, written } = writeFile(recs(3));
    const h = fs.open(PATH, { readOnly: true });
    const [a, b] = written;
    expect(() => readValue(h, a!.pointer, "other")).toThrow(CorruptionError);
    expect(() => readValue(h, a!.pointer, { seq: a!.seq + 1 })).toThrow(/sequence number/);
    expect(() => readValue(h, { ...a!.pointer, checksum: b!.pointer.checksum })).toThrow(/not the one its pointer names/);
    expect(() => readValue(h, { ...a!.pointer, length: a!.pointer.length + 1 })).toThrow(CorruptionError);
    expect(() => readValue(h, { ...a!.pointer, offset: a!.pointer.offset + 1 })).toThrow(CorruptionError);
    // The same bytes read as another file's record fail: the file number seeds every checksum.
    expect(() => readValue(h, { ...a!.pointer, fileNumber: FILE_NUMBER + 1 })).toThrow(CorruptionError);
    const last = written[2]!.pointer;
    const past = { ...last, offset: last.offset + last.length };
    const e = (() => { try { readValue(h, past); } catch (err) { return err; } })();
    expect(e).toBeInstanceOf(ValueBeyondEndError);
    expect(e).toBeInstanceOf(CorruptionError);
    expect((e as ValueBeyondEndError).bytesPresent).toBe(0);
    expect((e as CorruptionError).file).toBe(PATH);
    expect((e as CorruptionError).offset).toBe(past.offset);
    const v = readValue(h, b!.pointer);
    v[0] ^= 1; // a fresh array: changing it changes nothing else
    expect(readValue(h, b!.pointer)).toEqual(b!.value);
    h.close();
  });

  test("every single bit flip in the file: readValue and the scan report corruption, never a wrong value", () => {
    const { fs, written } = writeFile(recs(3, 40));
    const size = fs.stat(PATH)!.sizeBytes;
    const m = fs as MemFileSystem;
    for (let byte = 0; byte < size; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        m.flipBit(PATH, byte, bit);
        const h = fs.open(PATH, { readOnly: true });
        const { records, end } = scanAll(h, { chunkBytes: 64 });
        expect(end.status).toBe("corrupt");
        expect(end.error).toBeInstanceOf(CorruptionError);
        expect(end.error!.offset).toBeLessThanOrEqual(byte);
        for (let i = 0; i < records.length; i++) expect(records[i]!.key).toBe(written[i]!.key);
        for (const wr of written) {
          const inside = byte >= wr.pointer.offset && byte < wr.pointer.offset + wr.pointer.length;
          if (inside) expect(() => readValue(h, wr.pointer, wr.key)).toThrow(CorruptionError);
          else if (byte >= VLOG_FILE_HEADER_BYTES) expect(readValue(h, wr.pointer, wr.key)).toEqual(wr.value);
        }
        h.close();
        m.flipBit(PATH, byte, bit);
      }
    }
  });

  test("torn tails at every length: the scan stops at the last whole record and calls it torn", () => {
    const { fs, written } = writeFile(recs(4, 30));
    const full = (fs as MemFileSystem).snapshotFiles().get(PATH)!;
    const ends = written.map((w) => w.pointer.offset + w.pointer.length);
    for (let n = 0; n <= full.length; n++) {
      const f = new MemFileSystem();
      const h = f.open("/t.vlog", { create: true });
      h.write(full.subarray(0, n), 0);
      const { records, end } = scanAll(h);
      const whole = ends.filter((e) => e <= n).length;
      expect(records.length).toBe(n < VLOG_FILE_HEADER_BYTES ? 0 : whole);
      const validEnd = n < VLOG_FILE_HEADER_BYTES ? 0 : whole === 0 ? VLOG_FILE_HEADER_BYTES : ends[whole - 1]!;
      expect(end.validEndBytes).toBe(validEnd);
      // A file shorter than its header (even an empty one) was cut at creation: torn, it holds nothing.
      expect(end.status).toBe(n >= VLOG_FILE_HEADER_BYTES && n === validEnd ? "clean" : "torn");
      if (n >= VLOG_FILE_HEADER_BYTES) {
        // A partial record followed by zeros: never past the last whole record, and never "clean".
        h.write(new Uint8Array(50), n);
        const z = scanAll(h);
        expect(z.end.validEndBytes).toBe(validEnd);
        expect(z.end.status === "torn" || (z.end.status === "corrupt" && n > validEnd)).toBe(true);
        // Whole records followed by zeros (a size that reached the disk before its data): torn.
        h.truncate(validEnd);
        h.write(new Uint8Array(1 + (n % 300)), validEnd);
        expect(scanAll(h).end).toMatchObject({ status: "torn", validEndBytes: validEnd, records: whole });
      }
      h.close();
    }
  });

  test("limits and misuse: big keys and values, a full buffer, a closed writer", () => {
    const fs = newFs();
    const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1, { bufferMaxBytes: 1000 });
    expect(() => w.append("x".repeat(65_536), 1, new Uint8Array(1))).toThrow(InvalidArgumentError);
    expect(() => w.append("k", -1, new Uint8Array(1))).toThrow(InvalidArgumentError);
    w.append("k", 1, new Uint8Array(900));
    expect(() => w.append("k", 2, new Uint8Array(100))).toThrow(BudgetExceededError);
    expect(w.bufferedBytes).toBe(recordBytes(1, 900));
    w.flush();
    w.append("k", 2, new Uint8Array(100));
    w.close();
    w.close();
    expect(() => w.append("k", 3, new Uint8Array(1))).toThrow(ClosedError);
    expect(() => w.flush()).toThrow(ClosedError);
    expect(scanFile(fs).records.map((r) => r.seq)).toEqual([1]); // the record buffered at close was dropped
    expect(() => ValueLogWriter.create(fs, PATH, FILE_NUMBER, 1)).toThrow(/EEXIST/);
    expect(VLOG_RECORD_HEADER_BYTES).toBe(22);
  });
});

describe("value log: mutated files (fuzz-style)", () => {
  test("random damage: the scan never throws and yields only genuine records; reads give the original value or CorruptionError", () => {
    const originals = recs(6, 120);
    const { fs, written } = writeFile(originals);
    const clean = (fs as MemFileSystem).snapshotFiles().get(PATH)!;
    const byKey = new Map(written.map((w) => [`${w.key}|${w.seq}`, w.value]));
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant("flip" as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
      fc.record({ kind: fc.constant("overwrite" as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 40 }) }),
      fc.record({ kind: fc.constant("zero" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 300 }) }),
      fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
      fc.record({ kind: fc.constant("delete" as const), at: fc.nat(), n: fc.integer({ min: 1, max: 200 }) }),
    );
    fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), fc.constantFrom(64, 1000, 1 << 20), (ms, chunkBytes) => {
      let b = clean.slice();
      for (const m of ms) {
        const at = m.at % (b.length + 1);
        if (m.kind === "flip" && at < b.length) b[at] ^= 1 << m.bit;
        if (m.kind === "overwrite") b.set(m.bytes.subarray(0, Math.max(0, b.length - at)), at);
        if (m.kind === "zero") b.fill(0, at, at + m.n);
        if (m.kind === "cut") b = b.slice(0, at);
        if (m.kind === "delete") b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + m.n)]);
      }
      const h = newFs().open(PATH, { create: true });
      h.write(b, 0);
      const { records, end } = scanAll(h, { chunkBytes, resyncMaxBytes: 2000 });
      expect(["clean", "torn", "corrupt"]).toContain(end.status);
      if (end.status === "corrupt") expect(end.error).toBeInstanceOf(CorruptionError);
      for (const r of records) expect(readValue(h, r.pointer, { key: r.key, seq: r.seq })).toEqual(byKey.get(`${r.key}|${r.seq}`));
      for (const w of written) {
        try {
          expect(readValue(h, w.pointer, { key: w.key, seq: w.seq })).toEqual(w.value);
        } catch (e) {
          expect(e).toBeInstanceOf(CorruptionError);
        }
      }
      h.close();
    }), { numRuns: 400 });
  });
});
