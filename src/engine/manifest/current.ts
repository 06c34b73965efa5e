/**
 * CURRENT: the pointer to the live manifest. It is replaced atomically and
 * is never seen half-written (LevelDB's "CURRENT file does not end with
 * newline"): the new content goes to CURRENT.tmp, which is fsynced, renamed
 * over CURRENT, and then the directory is fsynced. A crash at any point
 * leaves either the old pointer or the new one.
 *
 * Format (26 + L bytes):
 *   0  magic "OUROBCUR" (8)     8  u16 format version (1)   10 u16 flags (0)
 *   12 u64 manifest number      20 u16 name length L
 *   22 name, ASCII: "MANIFEST-" + the number padded to 6 digits (for humans: `strings CURRENT`)
 *   22+L u32 masked CRC32C of bytes [0, 22 + L)
 *
 * If CURRENT is missing or fails its checks, reading it throws
 * CorruptionError saying so; `findNewestValidManifest` is the documented
 * fallback an operator (or a repair mode) may use instead.
 */
import { CorruptionError } from "../../errors.ts";
import { crc32c, maskCrc, unmaskCrc } from "../../encoding/crc32c.ts";
import { getU16, getU32, putU16, putU32, putU64 } from "../../encoding/fixed.ts";
import { latin1Slice, putLatin1 } from "../../encoding/bytes.ts";
import type { FileSystem } from "../../platform/fs.ts";
import { joinPath } from "../../platform/fs.ts";
import { manifestFileName, parseManifestFileName } from "./manifest-format.ts";
import { replayManifest } from "./replay.ts";

export const CURRENT_FILE = "CURRENT";
export const CURRENT_TMP_FILE = "CURRENT.tmp";
export const CURRENT_MAGIC = new Uint8Array([0x4f, 0x55, 0x52, 0x4f, 0x42, 0x43, 0x55, 0x52]); // "OUROBCUR"
export const CURRENT_FORMAT_VERSION = 1;
const CURRENT_FIXED_BYTES = 26;
const CURRENT_MAX_BYTES = 64;
const FALLBACK_HINT = "findNewestValidManifest(fs, dir) can pick the newest manifest that replays cleanly";

export function encodeCurrent(manifestNumber: number): Uint8Array { // PA
  const name = manifestFileName(manifestNumber);
  const out = new Uint8Array(CURRENT_FIXED_BYTES + name.length);
  out.set(CURRENT_MAGIC, 0);
  putU16(out, 8, CURRENT_FORMAT_VERSION);
  putU16(out, 10, 0);
  putU64(out, 12, manifestNumber);
  putU16(out, 20, name.length);
  putLatin1(out, 22, name);
  putU32(out, 22 + name.length, maskCrc(crc32c(out, 0, 22 + name.length)));
  return out;
}

/** The manifest number CURRENT's bytes name. Throws CorruptionError naming `file` and the offset. */
export function decodeCurrent(buf: Uint8Array, file: string): number { // PA
  const bad = (what: string, offset: number): never => { // A
    throw new CorruptionError(`CURRENT is damaged: ${what}; ${FALLBACK_HINT}`, { file, offset });
  };
  if (buf.length < CURRENT_FIXED_BYTES || buf.length > CURRENT_MAX_BYTES) bad(`${buf.length} bytes is not a valid size`, 0);
  for (let i = 0; i < CURRENT_MAGIC.length; i++) if (buf[i] !== CURRENT_MAGIC[i]) bad("bad magic", 0);
  const nameBytes = getU16(buf, 20);
  if (CURRENT_FIXED_BYTES + nameBytes !== buf.length) bad(`name length ${nameBytes} does not match the file size`, 20);
  if (unmaskCrc(getU32(buf, 22 + nameBytes)) !== crc32c(buf, 0, 22 + nameBytes)) bad("checksum mismatch", 22 + nameBytes);
  const version = getU16(buf, 8);
  if (version !== CURRENT_FORMAT_VERSION) bad(`unsupported format version ${version}`, 8);
  if (getU16(buf, 10) !== 0) bad("flags must be 0", 10);
  if (getU32(buf, 16) > 0x1fffff) bad("manifest number exceeds 2^53-1", 12);
  const n = getU32(buf, 12) + getU32(buf, 16) * 4294967296;
  const name = latin1Slice(buf, 22, 22 + nameBytes);
  if (parseManifestFileName(name) !== n) bad(`name ${JSON.stringify(name)} does not match number ${n}`, 22);
  return n;
}

/** The manifest number CURRENT in `dir` names. CorruptionError if CURRENT is missing or damaged. */
export function readCurrent(fs: FileSystem, dir: string): number { // PA
  const file = joinPath(dir, CURRENT_FILE);
  if (fs.stat(file) === undefined) {
    throw new CorruptionError(`CURRENT is missing: nothing says which manifest is live; ${FALLBACK_HINT}`, { file });
  }
  return decodeCurrent(fs.readFile(file), file);
}

/**
 * Points CURRENT at MANIFEST-`manifestNumber` atomically and durably:
 * CURRENT.tmp written and fsynced, renamed over CURRENT, directory fsynced.
 * The manifest itself must be durable (file and directory entry) before.
 */
export async function writeCurrent(fs: FileSystem, dir: string, manifestNumber: number): Promise<void> { // PA
  const tmp = joinPath(dir, CURRENT_TMP_FILE);
  const h = fs.open(tmp, { create: true, truncate: true });
  try {
    h.write(encodeCurrent(manifestNumber), 0);
    await h.sync();
  } finally {
    h.close();
  }
  fs.rename(tmp, joinPath(dir, CURRENT_FILE));
  await fs.syncDir(dir);
}

/** Manifest numbers of the MANIFEST-* files in `dir`, ascending. */
export function listManifests(fs: FileSystem, dir: string): number[] { // A
  const out: number[] = [];
  for (const name of fs.list(dir)) {
    const n = parseManifestFileName(name);
    if (n !== undefined) out.push(n);
  }
  return out.sort((a, b) => a - b);
}

export interface ManifestCandidate {
  manifestNumber: number;
  name: string;
  /** The candidates that were newer but did not replay cleanly, with why. */
  rejected: { manifestNumber: number; reason: string }[];
}

/**
 * The fallback when CURRENT is missing or damaged: scans the MANIFEST-*
 * files, newest first, and returns the first one that replays cleanly (a
 * torn tail allowed), or undefined if none does. Pass its number to
 * `VersionSet.recover(fs, dir, random, { manifestNumber })`, which rewrites
 * CURRENT. Caution: normally only one manifest exists (rotation deletes the
 * old one), so the pick is the live one; if the newest manifest is damaged,
 * an older survivor describes an older state whose files may since have been
 * deleted by compaction: check the result (db.verify) before trusting it.
 */
export async function findNewestValidManifest(fs: FileSystem, dir: string): Promise<ManifestCandidate | undefined> { // PA
  const rejected: { manifestNumber: number; reason: string }[] = [];
  for (const n of listManifests(fs, dir).reverse()) {
    try {
      replayManifest(fs, dir, n);
      return { manifestNumber: n, name: manifestFileName(n), rejected };
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      rejected.push({ manifestNumber: n, reason: e.message });
    }
  }
  return undefined;
}
