import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { ClosedError, CorruptionError, InvalidArgumentError } from "../../../src/errors.ts";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { FaultFileSystem } from "../../../src/platform/fault-fs.ts";
import { SeededRandom } from "../../../src/platform/random.ts";
import { VersionSet } from "../../../src/engine/manifest/version-set.ts";
import { findNewestValidManifest } from "../../../src/engine/manifest/current.ts";
import { manifestFileName } from "../../../src/engine/manifest/manifest-format.ts";
import { MAX_LEVELS, type FileMeta, type VersionEdit } from "../../../src/engine/manifest/version-edit.ts";
import type { Version } from "../../../src/engine/manifest/version.ts";
import { metaFor, randomEdit, snapshotOf } from "./helpers.ts";

const DIR = "/db";

function newFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  return fs;
}

type Cmd =
  | { c: "add"; level: number; n: number }
  | { c: "del"; pick: number }
  | { c: "move"; pick: number; to: number }
  | { c: "log"; delta: number }
  | { c: "seq"; delta: number }
  | { c: "cp"; level: number; key: string }
  | { c: "reopen" }
  | { c: "hold" }
  | { c: "release"; pick: number }
  | { c: "bad"; pick: number };

const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 5, arbitrary: fc.record({ c: fc.constant("add" as const), level: fc.nat(MAX_LEVELS - 1), n: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 3, arbitrary: fc.record({ c: fc.constant("del" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ c: fc.constant("move" as const), pick: fc.nat(), to: fc.nat(MAX_LEVELS - 1) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("log" as const), delta: fc.nat(3) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("seq" as const), delta: fc.nat(50) }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("cp" as const), level: fc.nat(MAX_LEVELS - 1), key: fc.string({ maxLength: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ c: "reopen" as const }) },
  { weight: 1, arbitrary: fc.constant({ c: "hold" as const }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("release" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ c: fc.constant("bad" as const), pick: fc.nat() }) },
);

interface Model {
  files: Map<number, { level: number; meta: FileMeta }>;
  logNumber: number;
  lastSeq: number;
  cps: Map<number, string>;
}

function modelLevels(m: Model): FileMeta[][] {
  const levels: FileMeta[][] = Array.from({ length: MAX_LEVELS }, () => []);
  for (const { level, meta } of m.files.values()) levels[level]!.push(meta);
  levels[0]!.sort((a, b) => b.fileNumber - a.fileNumber);
  for (let l = 1; l < MAX_LEVELS; l++) levels[l]!.sort((a, b) => (a.smallestKey < b.smallestKey ? -1 : 1));
  return levels;
}

/** Runs one command against the set and the model; returns the (possibly reopened) set. */
async function step(vs: VersionSet, m: Model, cmd: Cmd, held: Version[], fs: MemFileSystem): Promise<VersionSet> {
  const live = [...m.files.entries()];
  let edit: VersionEdit | undefined;
  switch (cmd.c) {
    case "add": {
      const added = Array.from({ length: cmd.n }, () => ({ level: cmd.level, ...metaFor(vs.newFileNumber()) }));
      for (const a of added) m.files.set(a.fileNumber, { level: a.level, meta: metaFor(a.fileNumber) });
      edit = { added };
      break;
    }
    case "del":
    case "move": {
      if (live.length === 0) return vs;
      const [n, { level, meta }] = live[cmd.pick % live.length]!;
      const to = cmd.c === "move" ? cmd.to : -1;
      edit = { deleted: [{ level, fileNumber: n }], ...(to >= 0 ? { added: [{ level: to, ...meta }] } : {}) };
      if (to >= 0) m.files.set(n, { level: to, meta });
      else m.files.delete(n);
      break;
    }
    case "log": m.logNumber += cmd.delta; edit = { logNumber: m.logNumber }; break;
    case "seq": m.lastSeq += cmd.delta; vs.setLastSeq(m.lastSeq); edit = {}; break;
    case "cp": m.cps.set(cmd.level, cmd.key); edit = { compactPointers: [{ level: cmd.level, key: cmd.key }] }; break;
    case "hold": held.push(vs.current().ref()); return vs;
    case "release": {
      if (held.length === 0) return vs;
      held.splice(cmd.pick % held.length, 1)[0]!.unref();
      return vs;
    }
    case "bad": {
      const before = snapshotOf(vs);
      const size = vs.manifestSizeBytes;
      await expect(vs.logAndApply({ deleted: [{ level: cmd.pick % MAX_LEVELS, fileNumber: vs.nextFileNumber + 5 }] })).rejects.toThrow(InvalidArgumentError);
      await expect(vs.logAndApply({ added: [{ level: 1, ...metaFor(vs.nextFileNumber) }] })).rejects.toThrow(/not handed out/);
      expect(snapshotOf(vs)).toEqual(before);
      expect(vs.manifestSizeBytes).toBe(size);
      return vs;
    }
    case "reopen": {
      for (const h of held.splice(0)) h.unref();
      await vs.close();
      return VersionSet.recover(fs, DIR, new SeededRandom(1), { manifestRotateBytes: 400 });
    }
  }
  await vs.logAndApply(edit);
  return vs;
}

function expectMatches(vs: VersionSet, m: Model, held: Version[]): void {
  const s = snapshotOf(vs);
  expect(s.levels).toEqual(modelLevels(m));
  expect(s.logNumber).toBe(m.logNumber);
  expect(s.lastSeq).toBe(m.lastSeq);
  expect(s.compactPointers).toEqual([...m.cps].sort((a, b) => a[0] - b[0]));
  const expected = new Set(m.files.keys());
  for (const h of held) h.forEachFile((f) => expected.add(f.fileNumber));
  expect(vs.liveFileNumbers()).toEqual(expected);
}

describe("VersionSet", () => {
  test("random edit sequences (with reopen, rotation, held versions, refused edits) match a Map model", async () => {
    await fc.assert(fc.asyncProperty(fc.array(cmdArb, { maxLength: 40 }), async (cmds) => {
      const fs = newFs();
      let vs = await VersionSet.create(fs, DIR, new SeededRandom(7), { manifestRotateBytes: 400 });
      const m: Model = { files: new Map(), logNumber: 0, lastSeq: 0, cps: new Map() };
      const held: Version[] = [];
      for (const cmd of cmds) {
        vs = await step(vs, m, cmd, held, fs);
        expectMatches(vs, m, held);
      }
      await vs.close();
      const again = await VersionSet.recover(fs, DIR, new SeededRandom(2));
      expectMatches(again, m, []);
      await again.close();
    }), { numRuns: 60 });
  });

  test("recovery after reopen equals the state before, and only the live manifest remains", async () => {
    const fs = newFs();
    const rng = new SeededRandom(11);
    const vs = await VersionSet.create(fs, DIR, rng, { manifestRotateBytes: 500 });
    const seen = new Set<number>();
    for (let i = 0; i < 60; i++) {
      await vs.logAndApply(randomEdit(rng, vs));
      seen.add(vs.manifestNumber);
    }
    expect(seen.size).toBeGreaterThan(2); // rotated several times
    const before = snapshotOf(vs);
    const next = vs.nextFileNumber;
    await vs.close();
    await expect(vs.logAndApply({})).rejects.toThrow(ClosedError);
    const back = await VersionSet.recover(fs, DIR, rng);
    expect(snapshotOf(back)).toEqual(before);
    expect(back.nextFileNumber).toBeGreaterThanOrEqual(next);
    expect(back.newFileNumber()).toBeGreaterThan(Math.max(...back.liveFileNumbers(), back.manifestNumber));
    expect(fs.list(DIR).filter((n) => n.startsWith("MANIFEST-"))).toEqual([manifestFileName(back.manifestNumber)]);
    await back.close();
  });

  test("versions: L0 newest first, other levels by smallest key; frozen; refs keep files live until released", async () => {
    const vs = await VersionSet.create(newFs(), DIR, new SeededRandom(3));
    const [a, b, c] = [vs.newFileNumber(), vs.newFileNumber(), vs.newFileNumber()];
    const overlapping = { smallestKey: "a", largestKey: "z" };
    await vs.logAndApply({ added: [{ level: 0, ...metaFor(a), ...overlapping }, { level: 0, ...metaFor(b), ...overlapping }, { level: 2, ...metaFor(c) }] });
    const v1 = vs.current().ref();
    expect(v1.files(0).map((f) => f.fileNumber)).toEqual([b, a]);
    expect(Object.isFrozen(v1.files(0))).toBe(true);
    expect(() => { (v1.files(0) as FileMeta[]).push(metaFor(99)); }).toThrow();
    await vs.logAndApply({ deleted: [{ level: 0, fileNumber: a }, { level: 2, fileNumber: c }] });
    expect(vs.liveFileNumbers()).toEqual(new Set([a, b, c]));
    v1.unref();
    expect(vs.liveFileNumbers()).toEqual(new Set([b]));
    expect(() => v1.unref()).toThrow(/unref/);
    expect(() => v1.ref()).toThrow(/released/);
    const d = vs.newFileNumber();
    await expect(vs.logAndApply({ added: [{ level: 1, ...metaFor(d), smallestKey: "a", largestKey: "m" }, { level: 1, ...metaFor(d + 0), fileNumber: vs.newFileNumber(), smallestKey: "m", largestKey: "q" }] }))
      .rejects.toThrow(/overlap/);
    await expect(vs.logAndApply({ added: [{ level: 3, ...metaFor(b) }] })).rejects.toThrow(/already live/);
    await expect(vs.logAndApply({ logNumber: -1 })).rejects.toThrow(InvalidArgumentError);
    await vs.logAndApply({ logNumber: 4 });
    await expect(vs.logAndApply({ logNumber: 3 })).rejects.toThrow(/below the current/);
    await vs.close();
  });

  test("concurrent logAndApply calls are applied one at a time, in call order", async () => {
    const fs = newFs();
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(4), { manifestRotateBytes: 300 });
    const nums = Array.from({ length: 20 }, () => vs.newFileNumber());
    const results = await Promise.all(nums.map((n, i) => vs.logAndApply({ added: [{ level: 0, ...metaFor(n) }], logNumber: i })));
    results.forEach((v, i) => expect(v.files(0).length).toBeGreaterThanOrEqual(i + 1));
    expect(vs.current().files(0).map((f) => f.fileNumber)).toEqual([...nums].reverse());
    expect(vs.logNumber).toBe(19);
    await vs.close();
    const back = await VersionSet.recover(fs, DIR, new SeededRandom(5));
    expect(back.current().files(0).map((f) => f.fileNumber)).toEqual([...nums].reverse());
    await back.close();
  });

  test("create refuses an existing database; probe tells the cases apart", async () => {
    const fs = newFs();
    expect(VersionSet.probe(fs, DIR)).toBe("none");
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(1), { nextFileNumber: 50, logNumber: 60, lastSeq: 70 });
    expect(vs.manifestNumber).toBe(61);
    expect([vs.logNumber, vs.lastSeq]).toEqual([60, 70]);
    await vs.close();
    expect(VersionSet.probe(fs, DIR)).toBe("current");
    await expect(VersionSet.create(fs, DIR)).rejects.toThrow(InvalidArgumentError);
    fs.remove(`${DIR}/CURRENT`);
    expect(VersionSet.probe(fs, DIR)).toBe("manifests-without-current");
  });

  test("missing or damaged CURRENT: CorruptionError, then the documented fallback recovers and rewrites CURRENT", async () => {
    const fs = newFs();
    const rng = new SeededRandom(9);
    const vs = await VersionSet.create(fs, DIR, rng);
    for (let i = 0; i < 10; i++) await vs.logAndApply(randomEdit(rng, vs));
    const before = snapshotOf(vs);
    await vs.close();
    fs.flipBit(`${DIR}/CURRENT`, 13, 2);
    await expect(VersionSet.recover(fs, DIR)).rejects.toThrow(/CURRENT is damaged.*findNewestValidManifest/);
    fs.remove(`${DIR}/CURRENT`);
    await expect(VersionSet.recover(fs, DIR)).rejects.toThrow(/CURRENT is missing/);
    const pick = await findNewestValidManifest(fs, DIR);
    expect(pick).toBeDefined();
    const back = await VersionSet.recover(fs, DIR, rng, { manifestNumber: pick!.manifestNumber });
    expect(snapshotOf(back)).toEqual(before);
    await back.close();
    const again = await VersionSet.recover(fs, DIR, rng); // CURRENT works again
    expect(snapshotOf(again)).toEqual(before);
    await again.close();
  });

  test("a flipped bit anywhere in the live manifest: recover throws CorruptionError; the fallback finds no clean manifest", async () => {
    const fs = newFs();
    const rng = new SeededRandom(10);
    const vs = await VersionSet.create(fs, DIR, rng, { manifestRotateBytes: 1 << 20 });
    for (let i = 0; i < 5; i++) await vs.logAndApply(randomEdit(rng, vs));
    const path = `${DIR}/${manifestFileName(vs.manifestNumber)}`;
    await vs.close();
    const size = fs.readFile(path).length;
    for (let at = 0; at < size; at += 3) {
      const copy = fs.clone();
      copy.flipBit(path, at, at % 8);
      const err = await VersionSet.recover(copy, DIR).then(() => undefined, (e: unknown) => e);
      expect(err, `flip at ${at}`).toBeInstanceOf(CorruptionError);
      expect((err as CorruptionError).file).toBe(path);
      expect(await findNewestValidManifest(copy, DIR)).toBeUndefined();
    }
  });

  test("an I/O error on append or fsync rejects the edit and the next edit starts a fresh manifest", async () => {
    const mem = newFs();
    const fs = new FaultFileSystem(mem);
    const vs = await VersionSet.create(fs, DIR, new SeededRandom(12));
    const first = vs.manifestNumber;
    const a = vs.newFileNumber();
    fs.inject({ op: "sync", pathIncludes: "MANIFEST" });
    await expect(vs.logAndApply({ added: [{ level: 1, ...metaFor(a) }] })).rejects.toThrow(/EIO/);
    expect(vs.current().fileCount).toBe(0); // not installed
    const b = vs.newFileNumber();
    await vs.logAndApply({ added: [{ level: 1, ...metaFor(b) }] });
    expect(vs.manifestNumber).toBeGreaterThan(first);
    expect(mem.stat(`${DIR}/${manifestFileName(first)}`)).toBeUndefined();
    fs.inject({ op: "write", pathIncludes: "MANIFEST", shortWrite: true });
    await expect(vs.logAndApply({ deleted: [{ level: 1, fileNumber: b }] })).rejects.toThrow(/EIO/);
    await vs.close();
    const back = await VersionSet.recover(mem, DIR);
    expect(back.current().files(1).map((f) => f.fileNumber)).toEqual([b]);
    await back.close();
  });
});
