/**
 * Fuzz target: manifest recovery over random and mutated MANIFEST and
 * CURRENT bytes. Whatever the bytes, VersionSet.recover must either give a
 * state the database really passed through (the state after some prefix of
 * the edits that were written) or throw CorruptionError; never another
 * exception, never a hang, never an invented state. After a CorruptionError
 * the documented fallback (findNewestValidManifest) is tried too and is held
 * to the same rule.
 */
import { CorruptionError } from "../src/errors.ts";
import { concatBytes } from "../src/encoding/bytes.ts";
import { MemFileSystem } from "../src/platform/mem-fs.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { findNewestValidManifest, CURRENT_FILE } from "../src/engine/manifest/current.ts";
import { manifestFileName } from "../src/engine/manifest/manifest-format.ts";
import { MAX_LEVELS, type AddedFile, type DeletedFile, type VersionEdit } from "../src/engine/manifest/version-edit.ts";
import { VersionSet } from "../src/engine/manifest/version-set.ts";

const DIR = "/db";

export interface ManifestFuzzStats {
  cases: number;
  ok: number;
  corrupt: number;
}

/** The logical state of a version set, as a string (for equality). */
function stateKey(vs: VersionSet): string { // A
  const cps: [number, string | undefined][] = [];
  for (let l = 0; l < MAX_LEVELS; l++) cps.push([l, vs.compactPointer(l)]);
  return JSON.stringify([vs.current().levels, vs.lastSeq, vs.logNumber, cps, [...vs.vlogDiscard()].sort((a, b) => a[0] - b[0])]);
}

/** A random edit that fits `vs` (files with disjoint key ranges by number, so they may sit at any level). */
function randomEdit(rng: SeededRandom, vs: VersionSet): VersionEdit { // A
  const file = (n: number, level: number): AddedFile => ({ // A
    level, fileNumber: n, sizeBytes: rng.int(1 << 20), smallestKey: `k${String(2 * n).padStart(8, "0")}`,
    largestKey: `k${String(2 * n + 1).padStart(8, "0")}`, minSeq: n, maxSeq: n + rng.int(9),
  });
  const added: AddedFile[] = [];
  const deleted: DeletedFile[] = [];
  for (let i = 0, n = rng.int(4); i < n; i++) added.push(file(vs.newFileNumber(), rng.int(MAX_LEVELS)));
  const live: DeletedFile[] = [];
  vs.current().forEachFile((f, level) => live.push({ level, fileNumber: f.fileNumber }));
  if (live.length > 0 && rng.int(2) === 0) deleted.push(live[rng.int(live.length)]!);
  // Value-log discard deltas (tag 7) for handed-out numbers, and now and then a forgotten file (tag 8).
  const vlogDiscard = new Map<number, number>();
  for (let i = 0, n = rng.int(3); i < n; i++) vlogDiscard.set(1 + rng.int(vs.nextFileNumber - 1), 1 + rng.int(1 << 20));
  const known = [...vs.vlogDiscard().keys()].filter((f) => !vlogDiscard.has(f));
  const vlogForget = known.length > 0 && rng.int(4) === 0 ? [known[rng.int(known.length)]!] : [];
  return {
    added, deleted, vlogDiscard: [...vlogDiscard].map(([fileNumber, bytes]) => ({ fileNumber, bytes })), vlogForget,
    ...(rng.int(3) === 0 ? { logNumber: vs.logNumber + rng.int(4) } : {}),
    ...(rng.int(3) === 0 ? { lastSeq: vs.lastSeq + rng.int(1000) } : {}),
    ...(rng.int(5) === 0 ? { compactPointers: [{ level: rng.int(MAX_LEVELS), key: `p${rng.int(99)}` }] } : {}),
  };
}

/** Builds a real database's manifest; returns its files and every state it passed through. */
async function buildValid(rng: SeededRandom): Promise<{ manifest: Uint8Array; manifestNumber: number; current: Uint8Array; states: Set<string> }> { // A
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  const vs = await VersionSet.create(fs, DIR, rng, { manifestRotateBytes: rng.int(2) === 0 ? 1 << 20 : 150 + rng.int(400) });
  const states = new Set([stateKey(vs)]);
  for (let i = 0, n = 1 + rng.int(8); i < n; i++) {
    await vs.logAndApply(randomEdit(rng, vs));
    states.add(stateKey(vs));
  }
  await vs.close();
  const manifestNumber = vs.manifestNumber;
  return {
    manifest: fs.readFile(`${DIR}/${manifestFileName(manifestNumber)}`), manifestNumber, current: fs.readFile(`${DIR}/${CURRENT_FILE}`), states,
  };
}

/** Damages `bytes` in one of several ways chosen by `rng`. */
function mutate(rng: SeededRandom, bytes: Uint8Array): Uint8Array { // A
  const out = bytes.slice();
  switch (rng.int(6)) {
    case 0: // bit flips
      for (let i = 0, n = 1 + rng.int(4); i < n && out.length > 0; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1: // truncation
      return out.subarray(0, rng.int(out.length + 1));
    case 2: // random garbage or zeros appended
      return concatBytes([out, rng.int(2) === 0 ? rng.bytes(new Uint8Array(rng.int(200))) : new Uint8Array(rng.int(200))]);
    case 3: // a run of random bytes overwritten
      for (let i = rng.int(out.length), n = rng.int(64); n > 0 && i < out.length; i++, n--) out[i] = rng.int(256);
      return out;
    case 4: // a run of bytes zeroed
      for (let i = rng.int(out.length), n = rng.int(64); n > 0 && i < out.length; i++, n--) out[i] = 0;
      return out;
    default: // pure garbage
      return rng.bytes(new Uint8Array(rng.int(400)));
  }
}

async function recoverState(fs: MemFileSystem, manifestNumber?: number): Promise<string> { // A
  const vs = await VersionSet.recover(fs, DIR, new SeededRandom(1), manifestNumber === undefined ? {} : { manifestNumber });
  const key = stateKey(vs);
  let maxNumber = vs.manifestNumber;
  for (const n of vs.liveFileNumbers()) maxNumber = Math.max(maxNumber, n);
  if (vs.nextFileNumber <= maxNumber) throw new Error(`fuzz: nextFileNumber ${vs.nextFileNumber} would reuse file ${maxNumber}`);
  await vs.close();
  return key;
}

/** Runs one case: "ok" (recovered a real state) or "corrupt" (CorruptionError); throws on anything else. */
export async function fuzzManifestCase(seed: number): Promise<"ok" | "corrupt"> { // A
  const rng = new SeededRandom(seed);
  const valid = await buildValid(rng);
  const target = rng.int(10);
  const manifest = target < 7 || target === 9 ? mutate(rng, valid.manifest) : valid.manifest;
  const current = target >= 7 ? mutate(rng, valid.current) : valid.current;
  const fs = new MemFileSystem();
  fs.mkdir(DIR);
  fs.open(`${DIR}/${manifestFileName(valid.manifestNumber)}`, { create: true }).write(manifest, 0);
  if (rng.int(20) > 0) fs.open(`${DIR}/${CURRENT_FILE}`, { create: true }).write(current, 0);
  const fail = (what: string, e?: unknown): Error => // A
    new Error(`fuzz manifest seed ${seed} (target ${target}): ${what}${e === undefined ? "" : `: ${e instanceof Error ? e.stack : String(e)}`}`);
  try {
    const got = await recoverState(fs.clone());
    if (!valid.states.has(got)) throw fail("recovered a state the database never had");
    return "ok";
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e instanceof Error && e.message.startsWith("fuzz") ? e : fail("unexpected error", e);
  }
  try {
    const pick = await findNewestValidManifest(fs, DIR);
    if (pick !== undefined && !valid.states.has(await recoverState(fs, pick.manifestNumber))) throw fail("fallback recovered a state the database never had");
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e instanceof Error && e.message.startsWith("fuzz") ? e : fail("unexpected error in the fallback", e);
  }
  return "corrupt";
}

/** Runs cases from `seed0` until `cases` are done or `budgetMs` has passed (`nowMs` supplies time). */
export async function fuzzManifest(seed0: number, cases: number, budgetMs: number, nowMs: () => number): Promise<ManifestFuzzStats> { // A
  const start = nowMs();
  const stats: ManifestFuzzStats = { cases: 0, ok: 0, corrupt: 0 };
  for (let i = 0; i < cases && nowMs() - start < budgetMs; i++) {
    const r = await fuzzManifestCase(seed0 + i);
    stats.cases++;
    stats[r]++;
  }
  return stats;
}
