import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { CorruptionError, ReadOnlyError } from "../../../src/errors.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { SeededRandom } from "../../../src/platform/random.ts";
import { VersionSet } from "../../../src/engine/manifest/version-set.ts";
import { CURRENT_TMP_FILE } from "../../../src/engine/manifest/current.ts";
import { manifestFileName } from "../../../src/engine/manifest/manifest-format.ts";
import { metaFor, randomEdit, snapshotOf } from "./helpers.ts";

const DIR = "/db";

function newFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  return fs;
}

/** A closed database directory after `edits` random edits (and a reopen in the middle, so older manifests came and went). */
async function populated(seed: number, edits: number, rotateBytes = 4096): Promise<{ fs: MemFileSystem; manifest: number }> {
  const fs = newFs();
  const rng = new SeededRandom(seed);
  let vs = await VersionSet.create(fs, DIR, new SeededRandom(seed + 1), { manifestRotateBytes: rotateBytes });
  for (let i = 0; i < edits; i++) {
    if (i === Math.floor(edits / 2)) {
      await vs.close();
      vs = await VersionSet.recover(fs, DIR, new SeededRandom(seed + 2), { manifestRotateBytes: rotateBytes });
    }
    await vs.logAndApply(randomEdit(rng, vs));
  }
  await vs.close();
  return { fs, manifest: vs.manifestNumber };
}

function expectSameFiles(before: Map<string, Uint8Array>, after: Map<string, Uint8Array>): void {
  expect([...after.keys()]).toEqual([...before.keys()]);
  for (const [path, bytes] of before) expect(after.get(path), path).toEqual(bytes);
}

describe("VersionSet.load (read-only)", () => {
  test("yields the state recover() would, and writes nothing", async () => {
    await fc.assert(fc.asyncProperty(fc.nat(1_000_000), fc.integer({ min: 0, max: 40 }), fc.constantFrom(300, 4096), async (seed, edits, rotateBytes) => {
      const { fs, manifest } = await populated(seed, edits, rotateBytes);
      const before = fs.snapshotFiles();
      const calls = fs.callCount;
      const ro = await VersionSet.load(fs, DIR);
      expectSameFiles(before, fs.snapshotFiles());
      expect(ro.readOnly).toBe(true);
      expect(ro.manifestNumber).toBe(manifest);
      expect(ro.recoveryInfo?.fromManifest).toBe(manifest);
      expect(fs.callCount).toBeGreaterThan(calls); // it did read
      const rw = await VersionSet.recover(fs.clone(), DIR, new SeededRandom(seed + 3));
      expect(rw.readOnly).toBe(false);
      expect(snapshotOf(ro)).toEqual(snapshotOf(rw));
      // recover() spends exactly one number on its fresh manifest.
      expect(ro.nextFileNumber).toBe(rw.nextFileNumber - 1);
      ro.current().forEachFile((f) => expect(f.fileNumber).toBeLessThan(ro.nextFileNumber));
      expect(ro.nextFileNumber).toBeGreaterThan(Math.max(manifest, ro.logNumber));
      await ro.close();
      await rw.close();
      expectSameFiles(before, fs.snapshotFiles());
    }), { numRuns: 40 });
  });

  test("every change is refused with ReadOnlyError, and still nothing is written", async () => {
    const { fs } = await populated(7, 10);
    const before = fs.snapshotFiles();
    const ro = await VersionSet.load(fs, DIR);
    const levels = snapshotOf(ro);
    await expect(ro.logAndApply({ added: [{ level: 0, ...metaFor(ro.nextFileNumber) }] })).rejects.toThrow(ReadOnlyError);
    await expect(ro.logAndApply({ logNumber: ro.logNumber })).rejects.toThrow(ReadOnlyError);
    expect(() => ro.newFileNumber()).toThrow(ReadOnlyError);
    expect(snapshotOf(ro)).toEqual(levels);
    // In-memory counters may still move (a read-only open replaying logs raises lastSeq); nothing reaches disk.
    ro.setLastSeq(ro.lastSeq + 5);
    ro.markFileNumberUsed(ro.nextFileNumber + 10);
    await ro.close();
    expectSameFiles(before, fs.snapshotFiles());
  });

  test("a torn manifest tail is replayed around and left on disk", async () => {
    const { fs, manifest } = await populated(11, 12, 1 << 20);
    const path = `${DIR}/${manifestFileName(manifest)}`;
    const h = fs.open(path);
    h.truncate(h.size() - 3); // cut into the last record
    h.close();
    const tmp = fs.open(`${DIR}/${CURRENT_TMP_FILE}`, { create: true });
    tmp.append(new Uint8Array([1, 2, 3])); // a leftover of an interrupted CURRENT switch
    tmp.close();
    const before = fs.snapshotFiles();
    const ro = await VersionSet.load(fs, DIR);
    expect(ro.recoveryInfo!.tornTailBytes).toBeGreaterThan(0);
    await ro.close();
    expectSameFiles(before, fs.snapshotFiles());
    const rw = await VersionSet.recover(fs.clone(), DIR, new SeededRandom(1));
    expect(snapshotOf(ro)).toEqual(snapshotOf(rw));
    await rw.close();
  });

  test("a damaged CURRENT is CorruptionError, and nothing is written", async () => {
    const { fs } = await populated(3, 5);
    fs.flipBit(`${DIR}/CURRENT`, 13, 2);
    const before = fs.snapshotFiles();
    await expect(VersionSet.load(fs, DIR)).rejects.toThrow(CorruptionError);
    expectSameFiles(before, fs.snapshotFiles());
  });

  test("a missing CURRENT or a missing manifest is CorruptionError, and nothing is written", async () => {
    const a = await populated(5, 4);
    a.fs.remove(`${DIR}/CURRENT`);
    const beforeA = a.fs.snapshotFiles();
    await expect(VersionSet.load(a.fs, DIR)).rejects.toThrow(CorruptionError);
    expectSameFiles(beforeA, a.fs.snapshotFiles());

    const b = await populated(6, 4);
    b.fs.remove(`${DIR}/${manifestFileName(b.manifest)}`);
    const beforeB = b.fs.snapshotFiles();
    await expect(VersionSet.load(b.fs, DIR)).rejects.toThrow(CorruptionError);
    expectSameFiles(beforeB, b.fs.snapshotFiles());
  });

  test("a damaged record inside the manifest is CorruptionError, and nothing is written", async () => {
    const { fs, manifest } = await populated(9, 8, 1 << 20);
    const path = `${DIR}/${manifestFileName(manifest)}`;
    fs.flipBit(path, Math.floor(fs.stat(path)!.sizeBytes / 2), 0);
    const before = fs.snapshotFiles();
    await expect(VersionSet.load(fs, DIR)).rejects.toThrow(CorruptionError);
    expectSameFiles(before, fs.snapshotFiles());
  });

  test("options.manifestNumber loads that manifest without rewriting CURRENT", async () => {
    const { fs, manifest } = await populated(13, 6);
    const before = fs.snapshotFiles();
    const ro = await VersionSet.load(fs, DIR, { manifestNumber: manifest });
    expect(ro.manifestNumber).toBe(manifest);
    expectSameFiles(before, fs.snapshotFiles());
  });
});
