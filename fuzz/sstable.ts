/**
 * Fuzz target: the SSTable reader over random and mutated table bytes.
 *
 * Two kinds of damage:
 * - plain damage (bit flips, truncation, appended junk, overwritten runs,
 *   pure garbage): every answer must equal what was written or be a
 *   CorruptionError; if the bytes changed at all, opening or verify() must
 *   say so.
 * - resealed damage: a block's (or the footer's) contents are changed and
 *   its checksum recomputed, so the decoders behind the checksums meet
 *   malformed bytes. Answers may then differ from what was written (the
 *   bytes say something else), but the only exception allowed is
 *   CorruptionError, every call returns, and cursor walks stay strictly
 *   ordered.
 */
import { CorruptionError } from "../src/errors.ts";
import { MemFileSystem } from "../src/platform/mem-fs.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { concatBytes, equalBytes } from "../src/encoding/bytes.ts";
import { crc32c, maskCrc } from "../src/encoding/crc32c.ts";
import { putU32 } from "../src/encoding/fixed.ts";
import type { MemEntry } from "../src/engine/cursor.ts";
import { BLOCK_TRAILER_BYTES, SST_FOOTER_BYTES } from "../src/engine/sstable/format.ts";
import { TableBuilder } from "../src/engine/sstable/table-builder.ts";
import { TableReader } from "../src/engine/sstable/table-reader.ts";

export interface SstableFuzzStats {
  cases: number;
  ok: number;
  corrupt: number;
}

interface Version {
  key: string;
  seq: number;
  kind: number;
  value: Uint8Array | undefined;
}

const PATH = "/t/000003.sst";
const FILE_NUMBER = 3;

/** 1..150 versions over a small key space (many versions per key), in table order. */
function randomVersions(rng: SeededRandom): Version[] { // A
  const n = 1 + rng.int(150);
  const out: Version[] = [];
  const alphabet = ["\u0000", "a", "b", "\u00ff"];
  let seq = 0;
  for (let i = 0; i < n; i++) {
    let key = "";
    for (let j = rng.int(5); j > 0; j--) key += alphabet[rng.int(4)]!;
    const del = rng.int(4) === 0;
    const value = del ? undefined : rng.bytes(new Uint8Array(rng.int(8) === 0 ? rng.int(600) : rng.int(30)));
    seq += 1 + rng.int(3);
    out.push({ key, seq, kind: del ? 0 : 1, value });
  }
  return out.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : y.seq - x.seq));
}

function buildBytes(rng: SeededRandom, versions: Version[]): Uint8Array { // A
  const fs = new MemFileSystem();
  const h = fs.open("/x.sst", { create: true });
  const b = new TableBuilder(h, {
    fileNumber: FILE_NUMBER,
    blockBytes: [1, 64, 256, 4096][rng.int(4)],
    restartInterval: [1, 2, 16][rng.int(3)],
    bitsPerKey: [0, 10][rng.int(2)],
  });
  for (const v of versions) b.add(v.key, v.seq, v.kind, v.value);
  b.finish();
  h.close();
  return fs.readFile("/x.sst");
}

/** Plain damage: the checksums stay as written. */
function damage(rng: SeededRandom, bytes: Uint8Array): Uint8Array { // A
  const out = bytes.slice();
  switch (rng.int(6)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(4); i < n; i++) out[rng.int(out.length)]! ^= 1 << rng.int(8);
      return out;
    case 1:
      return out.subarray(0, rng.int(out.length + 1));
    case 2:
      return concatBytes([out, rng.bytes(new Uint8Array(1 + rng.int(100)))]);
    case 3:
      for (let i = rng.int(out.length), n = 1 + rng.int(64); n > 0 && i < out.length; i++, n--) out[i] = rng.int(256);
      return out;
    case 4: { // garbage that keeps the magic, so the footer decoder is reached
      const junk = rng.bytes(new Uint8Array(SST_FOOTER_BYTES + rng.int(400)));
      junk.set(bytes.subarray(bytes.length - 8), junk.length - 8);
      return junk;
    }
    default:
      return out; // undamaged
  }
}

/**
 * Resealed damage: changes bytes inside one checksummed region (a block's
 * contents, or the footer's first 48 bytes) and recomputes that region's
 * checksum, so the change gets past the CRC to the decoders.
 */
function reseal(rng: SeededRandom, bytes: Uint8Array, regions: Array<[number, number]>): Uint8Array { // A
  const out = bytes.slice();
  const [start, end] = regions[rng.int(regions.length)]!;
  if (end <= start) return out;
  for (let i = 0, n = 1 + rng.int(6); i < n; i++) {
    const at = start + rng.int(end - start);
    out[at] = rng.int(3) === 0 ? rng.int(256) : out[at]! ^ (1 << rng.int(8));
  }
  if (end === out.length - 12) {
    putU32(out, end, maskCrc(crc32c(out, start, end))); // the footer
  } else {
    putU32(out, end + 1, maskCrc(crc32c(out, start, end + 1))); // a block: contents + compression byte
  }
  return out;
}

/** The checksummed regions of a well-formed table: data blocks (via a clean reader), meta blocks, footer. */
function regionsOf(bytes: Uint8Array): Array<[number, number]> { // A
  const fs = new MemFileSystem();
  fs.mkdir("/t");
  const h = fs.open(PATH, { create: true });
  h.write(bytes, 0);
  h.close();
  const t = TableReader.open(fs, PATH, FILE_NUMBER);
  const regions: Array<[number, number]> = [];
  const starts: number[] = [];
  for (let i = 0; i < t.blockCount; i++) starts.push(t.blockOffset(i)!);
  starts.push(t.properties.dataBytes);
  for (let i = 0; i < t.blockCount; i++) regions.push([starts[i]!, starts[i + 1]! - BLOCK_TRAILER_BYTES]);
  t.close();
  // Meta blocks: walk the three trailers before the footer using the footer's handles (bytes 0..36 of it).
  const f = bytes.length - SST_FOOTER_BYTES;
  const u32 = (at: number): number => (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16) | (bytes[at + 3]! << 24)) >>> 0; // A
  for (const at of [0, 12, 24]) regions.push([u32(f + at), u32(f + at) + u32(f + at + 8)]);
  regions.push([f, f + 48]);
  return regions;
}

function sameEntry(got: MemEntry | undefined, want: Version | undefined): boolean { // A
  if (got === undefined || want === undefined) return got === want;
  if (got.seq !== want.seq || got.kind !== want.kind) return false;
  if (got.value === undefined || want.value === undefined) return got.value === want.value;
  return equalBytes(got.value, want.value);
}

/** Runs every read; strict: answers must match `versions`. Returns whether any CorruptionError was seen. */
function exercise(rng: SeededRandom, t: TableReader, versions: Version[], strict: boolean): boolean { // A
  let corrupt = false;
  const attempt = (fn: () => void): void => { // A
    try {
      fn();
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      corrupt = true;
    }
  };
  const keys = [...new Set(versions.map((v) => v.key))];
  const probes = [...keys, "", "a\u0000", "zz", "\u00ff\u00ff\u00ff\u00ff\u00ff"];
  for (const key of probes) {
    attempt(() => { // A
      const snap = rng.int(2) === 0 ? Number.MAX_SAFE_INTEGER : rng.int(versions.length * 4 + 2);
      const got = t.get(key, snap);
      if (strict && !sameEntry(got, versions.find((v) => v.key === key && v.seq <= snap))) {
        throw new Error(`get(${JSON.stringify(key)}, ${snap}) gave a wrong answer`);
      }
    });
  }
  attempt(() => { // A
    const c = t.cursor();
    const seen: string[] = [];
    for (c.seekFirst(); c.valid(); c.next()) {
      if (seen.length > 0 && !(seen[seen.length - 1]! < c.key())) throw new Error("forward walk out of order");
      seen.push(c.key());
      const e = c.visible(Number.MAX_SAFE_INTEGER);
      if (strict && !sameEntry(e, versions.find((v) => v.key === c.key()))) throw new Error("cursor visible gave a wrong answer");
    }
    if (strict && seen.join("|") !== keys.join("|")) throw new Error("forward walk gave other keys");
  });
  attempt(() => { // A
    const c = t.cursor();
    let last: string | undefined;
    for (c.seekLast(); c.valid(); c.prev()) {
      if (last !== undefined && !(c.key() < last)) throw new Error("backward walk out of order");
      last = c.key();
    }
    c.seek(probes[rng.int(probes.length)]!);
    c.seekForPrev(probes[rng.int(probes.length)]!);
  });
  attempt(() => { // A
    const all = [...t.entries()];
    if (strict && (all.length !== versions.length || !all.every((e, i) => e.key === versions[i]!.key && sameEntry(e, versions[i])))) {
      throw new Error("entries() gave other versions");
    }
  });
  const report = t.verify();
  return corrupt || report.problems.length > 0;
}

/** One case: "ok" (the table opened and read clean) or "corrupt" (damage reported); throws on anything else. */
export async function fuzzSstableCase(seed: number): Promise<"ok" | "corrupt"> { // A
  const rng = new SeededRandom(seed);
  const versions = randomVersions(rng);
  const original = buildBytes(rng, versions);
  const strict = rng.int(3) !== 0;
  const bytes = strict ? damage(rng, original) : reseal(rng, original, regionsOf(original));
  const fs = new MemFileSystem();
  fs.mkdir("/t");
  const h = fs.open(PATH, { create: true });
  h.write(bytes, 0);
  h.close();
  try {
    let t: TableReader;
    try {
      t = TableReader.open(fs, PATH, FILE_NUMBER);
    } catch (e) {
      if (e instanceof CorruptionError) return "corrupt";
      throw e;
    }
    try {
      const corrupt = exercise(rng, t, versions, strict);
      const changed = !equalBytes(bytes, original);
      if (strict && changed !== corrupt) throw new Error(changed ? "damaged bytes went unreported" : "undamaged table reported corrupt");
      return corrupt ? "corrupt" : "ok";
    } finally {
      t.close();
    }
  } catch (e) {
    throw new Error(`sstable fuzz seed ${seed} (${strict ? "plain" : "resealed"} damage): ${e instanceof Error ? e.stack : String(e)}`);
  }
}

/** Runs cases from `seed0` until `cases` are done or `budgetMs` has passed (`nowMs` supplies time). */
export async function fuzzSstable(seed0: number, cases: number, budgetMs: number, nowMs: () => number): Promise<SstableFuzzStats> { // A
  const start = nowMs();
  const stats: SstableFuzzStats = { cases: 0, ok: 0, corrupt: 0 };
  for (let i = 0; i < cases && nowMs() - start < budgetMs; i++) {
    stats[await fuzzSstableCase(seed0 + i)]++;
    stats.cases++;
  }
  return stats;
}
