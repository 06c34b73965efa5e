import { describe, expect, test } from "vitest";
import { CorruptionError } from "../../../src/errors.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { concatBytes } from "../../../src/encoding/bytes.ts";
import { ManifestWriter, parseManifest, readManifest } from "../../../src/engine/manifest/manifest-log.ts";
import { manifestFileName, parseManifestFileName, MANIFEST_FILE_HEADER_BYTES } from "../../../src/engine/manifest/manifest-format.ts";
import {
  decodeCurrent, encodeCurrent, findNewestValidManifest, readCurrent, writeCurrent, CURRENT_FILE, CURRENT_TMP_FILE,
} from "../../../src/engine/manifest/current.ts";
import type { VersionEdit } from "../../../src/engine/manifest/version-edit.ts";
import { metaFor } from "./helpers.ts";

const DIR = "/db";
const PATH = `${DIR}/${manifestFileName(7)}`;
const snapshot: VersionEdit = { added: [{ level: 0, ...metaFor(3) }], logNumber: 2, nextFileNumber: 8, lastSeq: 10 };
const edits: VersionEdit[] = [
  { added: [{ level: 1, ...metaFor(4) }], lastSeq: 11, nextFileNumber: 8 },
  { deleted: [{ level: 0, fileNumber: 3 }], logNumber: 5 },
  { compactPointers: [{ level: 1, key: "k" }], lastSeq: 20 },
];

function writeSample(): { fs: MemFileSystem; bytes: Uint8Array; ends: number[] } {
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  const w = ManifestWriter.create(fs, DIR, 7, 0xdeadbeef, snapshot);
  const ends = [w.sizeBytes];
  for (const e of edits) {
    w.append(e);
    ends.push(w.sizeBytes);
  }
  w.close();
  return { fs, bytes: fs.readFile(PATH), ends };
}

describe("manifest file", () => {
  test("records read back in order, the first one the snapshot", () => {
    const { fs } = writeSample();
    const c = readManifest(fs, DIR, 7);
    expect(c.records.map((r) => r.edit)).toEqual([snapshot, ...edits].map((e) => expect.objectContaining(e)));
    expect(c.records.map((r) => r.type)).toEqual([1, 2, 2, 2]);
    expect(c.tornTailBytes).toBe(0);
  });

  test("a file cut at any length is a torn tail: the whole records before the cut, never an error", () => {
    const { bytes, ends } = writeSample();
    for (let n = 0; n <= bytes.length; n++) {
      const c = parseManifest(bytes.subarray(0, n), PATH, 7);
      const whole = ends.filter((e) => e <= n).length;
      expect(c.records.length, `cut at ${n}`).toBe(whole);
      expect(c.tornTailBytes).toBe(n - (whole > 0 ? ends[whole - 1]! : n >= MANIFEST_FILE_HEADER_BYTES ? MANIFEST_FILE_HEADER_BYTES : 0));
    }
  });

  test("a zero-filled tail (size extended before the data landed) is a torn tail", () => {
    const { bytes } = writeSample();
    const c = parseManifest(concatBytes([bytes, new Uint8Array(100)]), PATH, 7);
    expect(c.records).toHaveLength(4);
    expect(c.tornTailBytes).toBe(100);
  });

  test("every single flipped bit, in any record or the header, is a CorruptionError naming the file and an offset", () => {
    const { bytes } = writeSample();
    for (let i = 0; i < bytes.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = bytes.slice();
        b[i]! ^= 1 << bit;
        let err: unknown;
        try {
          parseManifest(b, PATH, 7);
        } catch (e) {
          err = e;
        }
        expect(err, `flip byte ${i} bit ${bit}`).toBeInstanceOf(CorruptionError);
        expect((err as CorruptionError).file).toBe(PATH);
        expect((err as CorruptionError).offset).toBeTypeOf("number");
      }
    }
  });

  test("damage before the last record names the damaged record's offset", () => {
    const { bytes, ends } = writeSample();
    const b = bytes.slice();
    b[ends[1]! + 14]! ^= 0x10; // inside the second edit's payload
    expect(() => parseManifest(b, PATH, 7)).toThrow(expect.objectContaining({ offset: ends[1] }));
  });

  test("a manifest under another number's name is refused", () => {
    const { bytes } = writeSample();
    expect(() => parseManifest(bytes, "/db/MANIFEST-000008", 8)).toThrow(/header says number 7/);
  });

  test("file names", () => {
    expect(manifestFileName(5)).toBe("MANIFEST-000005");
    expect(parseManifestFileName("MANIFEST-1234567")).toBe(1234567);
    expect(parseManifestFileName("MANIFEST-12")).toBeUndefined();
    expect(parseManifestFileName("MANIFEST-000005.tmp")).toBeUndefined();
    expect(MANIFEST_FILE_HEADER_BYTES).toBe(28);
  });
});

describe("CURRENT", () => {
  test("round trip, readable name inside, and the temp file is gone after the switch", async () => {
    const fs = new MemFileSystem();
    fs.mkdir(DIR);
    await writeCurrent(fs, DIR, 12);
    expect(readCurrent(fs, DIR)).toBe(12);
    expect(new TextDecoder().decode(fs.readFile(`${DIR}/${CURRENT_FILE}`))).toContain("MANIFEST-000012");
    expect(fs.stat(`${DIR}/${CURRENT_TMP_FILE}`)).toBeUndefined();
    await writeCurrent(fs, DIR, 13);
    expect(readCurrent(fs, DIR)).toBe(13);
  });

  test("missing CURRENT is a CorruptionError that points to the fallback", () => {
    const fs = new MemFileSystem();
    fs.mkdir(DIR);
    expect(() => readCurrent(fs, DIR)).toThrow(CorruptionError);
    expect(() => readCurrent(fs, DIR)).toThrow(/missing.*findNewestValidManifest/);
  });

  test("every flipped bit and every truncation or extension of CURRENT is a CorruptionError", () => {
    const good = encodeCurrent(99);
    expect(decodeCurrent(good, "CURRENT")).toBe(99);
    for (let i = 0; i < good.length; i++) {
      for (let bit = 0; bit < 8; bit++) {
        const b = good.slice();
        b[i]! ^= 1 << bit;
        expect(() => decodeCurrent(b, "CURRENT"), `byte ${i} bit ${bit}`).toThrow(CorruptionError);
      }
    }
    for (let n = 0; n < good.length; n++) expect(() => decodeCurrent(good.subarray(0, n), "CURRENT")).toThrow(CorruptionError);
    expect(() => decodeCurrent(concatBytes([good, new Uint8Array([10])]), "CURRENT")).toThrow(CorruptionError);
  });

  test("crash at every call of the switch: CURRENT names the old or the new manifest, never anything unreadable", async () => {
    for (let n = 1; n < 20; n++) {
      for (let seed = 0; seed < 4; seed++) {
        const fs = new MemFileSystem();
        fs.mkdir(DIR);
        await fs.syncDir("/");
        await writeCurrent(fs, DIR, 5);
        fs.armCrash(n, seed);
        let done = false;
        try {
          await writeCurrent(fs, DIR, 6);
          done = true;
        } catch {
          // crashed
        }
        const survivor = done ? fs.crash(seed) : fs.lastCrash()!;
        const got = readCurrent(survivor, DIR);
        expect(done ? [6] : [5, 6]).toContain(got);
      }
    }
  });

  test("findNewestValidManifest skips damaged and empty manifests, newest first", async () => {
    const { fs } = writeSample(); // MANIFEST-000007
    const w9 = ManifestWriter.create(fs, DIR, 9, 1, { logNumber: 0, nextFileNumber: 10, lastSeq: 0 });
    w9.close();
    fs.flipBit(`${DIR}/${manifestFileName(9)}`, 40, 3);
    fs.open(`${DIR}/${manifestFileName(11)}`, { create: true }).close(); // created, nothing written
    const pick = await findNewestValidManifest(fs, DIR);
    expect(pick?.manifestNumber).toBe(7);
    expect(pick?.rejected.map((r) => r.manifestNumber)).toEqual([11, 9]);
    const empty = new MemFileSystem();
    empty.mkdir(DIR);
    expect(await findNewestValidManifest(empty, DIR)).toBeUndefined();
  });
});
