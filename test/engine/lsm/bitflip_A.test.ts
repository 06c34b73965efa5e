/**
 * Bit rot in table files, through the public DB API. Data goes into tables
 * (tiny blocks, flush, compact), the database is closed, and for each trial
 * one bit of one table is flipped on a copy of that image (MemFileSystem.flipBit)
 * before the database is opened again (so no block is cached):
 *
 * - inside a data block (contents or trailer): `get` of every key stored in
 *   that block, forward and reverse iteration over it, and `verify()` each
 *   report a CorruptionError / a problem naming the table; every other key
 *   still reads its right value;
 * - inside the index, filter or properties block or the footer: opening and
 *   reading never give a wrong value (a CorruptionError naming the table, or
 *   the right value), and `verify()` names the table.
 *
 * The blocks and their keys are located by decoding the intact table per
 * SPEC.md section 7 (test/support/lsm-model.ts), not through engine code.
 */
import { describe, expect, test } from "vitest";
import { CorruptionError, MemFileSystem, SeededRandom, openDB, silentLog, type DB, type DBOptions } from "../../../src/index.ts";
import { dbContents, hex, modelIterate, unhex } from "../../support/model.ts";
import { BLOCK_TRAILER_BYTES, SST_FOOTER_BYTES, compactDB, isCorruptionNaming, tableDataBlocks, tablePaths, tinyOptions } from "../../support/lsm-model.ts";

const enc = new TextEncoder();
const STRATEGIES = ["leveled", "tiered", "mobile"] as const;
type Strategy = (typeof STRATEGIES)[number];

function options(strategy: Strategy): DBOptions { // A
  return { ...tinyOptions(strategy), log: silentLog(), random: new SeededRandom(3) };
}

/** Builds a database whose data sits in tables; returns the closed image and the model (hex key -> hex value). */
async function buildImage(strategy: Strategy): Promise<{ image: MemFileSystem; model: Map<string, string> }> { // A
  const fs = new MemFileSystem();
  const model = new Map<string, string>();
  const rng = new SeededRandom(99);
  const db = await openDB("/db", { ...options(strategy), fs });
  for (let i = 0; i < 240; i++) {
    const k = enc.encode(`key${String(i).padStart(4, "0")}`);
    const v = rng.bytes(new Uint8Array(30 + rng.int(90)));
    await db.put(k, v);
    model.set(hex(k), hex(v));
  }
  for (let i = 0; i < 240; i += 9) {
    const k = enc.encode(`key${String(i).padStart(4, "0")}`);
    await db.delete(k);
    model.delete(hex(k));
  }
  await db.flush();
  await compactDB(db);
  expect(await dbContents(db)).toEqual(modelIterate(model, {}));
  expect((await db.verify()).ok).toBe(true);
  await db.close();
  expect(tablePaths(fs, "/db").length, `${strategy}: data must be in tables after flush + compact`).toBeGreaterThan(0);
  return { image: fs, model };
}

/** Expects `p` to reject with a CorruptionError naming `file`. */
async function expectCorruption(p: Promise<unknown>, file: string, what: string): Promise<void> { // A
  let err: unknown;
  try {
    await p;
  } catch (e) {
    err = e;
  }
  expect(err, `${what}: must fail`).toBeDefined();
  expect(isCorruptionNaming(err, file), `${what}: must be a CorruptionError naming ${file}, got ${String(err)}`).toBe(true);
}

/** get of `keyHex` returns the model's value, or fails with CorruptionError naming `file`; never a wrong value. */
async function expectRightOrCorrupt(db: DB, keyHex: string, model: Map<string, string>, file: string, what: string): Promise<boolean> { // A
  try {
    const got = await db.get(unhex(keyHex));
    expect(got === undefined ? undefined : hex(got), `${what}: get ${keyHex}`).toBe(model.get(keyHex));
    return false;
  } catch (e) {
    expect(isCorruptionNaming(e, file), `${what}: get ${keyHex} must give the right value or a CorruptionError naming ${file}, got ${String(e)}`).toBe(true);
    return true;
  }
}

async function expectVerifyNames(db: DB, file: string, what: string): Promise<void> { // A
  const report = await db.verify();
  expect(report.ok, `${what}: verify must report the damage`).toBe(false);
  const bad = report.files.filter((f) => f.problems.length > 0).map((f) => f.file);
  expect(bad.some((f) => f.endsWith(file)), `${what}: verify must name ${file}, named ${bad.join(", ")}`).toBe(true);
}

async function dataBlockTrial(strategy: Strategy, image: MemFileSystem, model: Map<string, string>, rng: SeededRandom, what: string): Promise<void> { // A
  const tables = tablePaths(image, "/db");
  const path = tables[rng.int(tables.length)]!;
  const file = path.slice(path.lastIndexOf("/") + 1);
  const blocks = tableDataBlocks(image.clone().readFile(path));
  const b = blocks[rng.int(blocks.length)]!;
  const offset = b.offset + rng.int(b.length + BLOCK_TRAILER_BYTES);
  const where = `${what}: ${file} block at ${b.offset} (${b.keys.length} keys), bit flipped at ${offset}`;
  const fs = image.clone();
  fs.flipBit(path, offset, rng.int(8));
  const db = await openDB("/db", { ...options(strategy), fs });
  try {
    const inBlock = new Set(b.keys);
    for (const k of inBlock) {
      if (model.has(k)) await expectCorruption(db.get(unhex(k)), file, `${where}: get of a key in the block`);
      else await expectRightOrCorrupt(db, k, model, file, where);
    }
    for (const k of model.keys()) {
      if (inBlock.has(k)) continue;
      const got = await db.get(unhex(k));
      expect(got === undefined ? undefined : hex(got), `${where}: get of a key outside the block`).toBe(model.get(k));
    }
    const first = unhex(b.keys[0]!), last = unhex(b.keys[b.keys.length - 1]!);
    if ([...inBlock].some((k) => model.has(k))) {
      await expectCorruption(dbContents(db), file, `${where}: forward iteration`);
      await expectCorruption(dbContents(db, { reverse: true }), file, `${where}: reverse iteration`);
      await expectCorruption(dbContents(db, { gte: first, lte: last }), file, `${where}: iteration over the block's range`);
    }
    await expectVerifyNames(db, file, where);
  } finally {
    await db.close();
  }
}

async function metaBlockTrial(strategy: Strategy, image: MemFileSystem, model: Map<string, string>, rng: SeededRandom, what: string): Promise<void> { // A
  const tables = tablePaths(image, "/db");
  const path = tables[rng.int(tables.length)]!;
  const file = path.slice(path.lastIndexOf("/") + 1);
  const bytes = image.clone().readFile(path);
  const blocks = tableDataBlocks(bytes);
  const last = blocks[blocks.length - 1]!;
  const dataEnd = last.offset + last.length + BLOCK_TRAILER_BYTES;
  // Index, filter, properties blocks and the footer (its last 8 bytes are the magic).
  const offset = dataEnd + rng.int(bytes.length - dataEnd);
  const where = `${what}: ${file} (data ends at ${dataEnd}, footer at ${bytes.length - SST_FOOTER_BYTES}), bit flipped at ${offset}`;
  const fs = image.clone();
  fs.flipBit(path, offset, rng.int(8));
  let db: DB;
  try {
    db = await openDB("/db", { ...options(strategy), fs });
  } catch (e) {
    expect(isCorruptionNaming(e, file), `${where}: open may only fail with a CorruptionError naming ${file}, got ${String(e)}`).toBe(true);
    return;
  }
  try {
    for (const k of model.keys()) await expectRightOrCorrupt(db, k, model, file, where);
    try {
      expect(await dbContents(db), `${where}: iteration`).toEqual(modelIterate(model, {}));
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      expect(isCorruptionNaming(e, file), `${where}: iteration error must name ${file}`).toBe(true);
    }
    await expectVerifyNames(db, file, where);
  } finally {
    await db.close();
  }
}

describe("bit flips in table files are reported, never read as wrong values", () => {
  for (const strategy of STRATEGIES) {
    test(`${strategy}: a flipped bit in a data block`, async () => {
      const { image, model } = await buildImage(strategy);
      const rng = new SeededRandom(strategy.length * 1000 + 1);
      for (let t = 0; t < 12; t++) await dataBlockTrial(strategy, image, model, rng, `${strategy} trial ${t}`);
    });
    test(`${strategy}: a flipped bit in the index, filter, properties block or footer`, async () => {
      const { image, model } = await buildImage(strategy);
      const rng = new SeededRandom(strategy.length * 1000 + 2);
      for (let t = 0; t < 12; t++) await metaBlockTrial(strategy, image, model, rng, `${strategy} trial ${t}`);
    });
  }
});
