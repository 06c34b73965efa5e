/**
 * The manifest's byte format (SPEC.md, "Manifest"). One file `MANIFEST-NNNNNN`
 * = a 28-byte file header, then records back to back; each record holds one
 * version edit, the first one a snapshot of the whole state.
 *
 * File header (28 bytes):
 *   0  magic "OUROBMAN" (8)     8  u16 format version (1)   10 u16 flags (0)
 *   12 u64 manifest number      20 u32 salt (random per manifest)
 *   24 u32 masked CRC32C of bytes [0, 24)
 * Record (13-byte header + payload):
 *   0  u32 masked CRC32C, seeded with the salt, of bytes [4, 13 + length)
 *   4  u32 payload length       8  u8 type (1 = snapshot, 2 = edit)
 *   9  u32 masked CRC32C, seeded with the salt, of bytes [4, 9): the header
 *      check. It lets a reader trust the length before the payload is read,
 *      so a record cut short by a crash (torn tail) is told apart from a
 *      damaged length field (corruption).
 */
import { CorruptionError } from "../../errors.ts";
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from "../../encoding/crc32c.ts";
import { getU16, getU32, getU64, putU16, putU32, putU64 } from "../../encoding/fixed.ts";
import { checksumSeedOf } from "../wal/format.ts";

export const MANIFEST_MAGIC = new Uint8Array([0x4f, 0x55, 0x52, 0x4f, 0x42, 0x4d, 0x41, 0x4e]); // "OUROBMAN"
export const MANIFEST_FORMAT_VERSION = 1;
export const MANIFEST_FILE_HEADER_BYTES = 28;
export const MANIFEST_RECORD_HEADER_BYTES = 13;
export const MANIFEST_RECORD_SNAPSHOT = 1;
export const MANIFEST_RECORD_EDIT = 2;
/** Largest record payload a writer produces and a reader accepts (a snapshot of ~1M files). */
export const MANIFEST_RECORD_MAX_PAYLOAD_BYTES = 256 * 1024 * 1024;

/** File name of manifest number `n`: "MANIFEST-" and six or more digits. */
export function manifestFileName(n: number): string { // A
  return `MANIFEST-${String(n).padStart(6, "0")}`;
}

/** The number of a manifest file name, or undefined if the name is not one. */
export function parseManifestFileName(name: string): number | undefined { // A
  const m = /^MANIFEST-(\d{6,16})$/.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) ? n : undefined;
}

/** CRC32C of the salt's 4 little-endian bytes: the start value of every record checksum (same rule as the WAL). */
export const manifestChecksumSeed = checksumSeedOf;

export function encodeManifestHeader(manifestNumber: number, salt: number): Uint8Array { // PA
  const out = new Uint8Array(MANIFEST_FILE_HEADER_BYTES);
  out.set(MANIFEST_MAGIC, 0);
  putU16(out, 8, MANIFEST_FORMAT_VERSION);
  putU16(out, 10, 0);
  putU64(out, 12, manifestNumber);
  putU32(out, 20, salt >>> 0);
  putU32(out, 24, maskCrc(crc32c(out, 0, 24)));
  return out;
}

export interface ManifestHeader {
  manifestNumber: number;
  checksumSeed: number;
}

/** Checks a file header (the caller made sure 28 bytes exist). Throws CorruptionError naming the file. */
export function decodeManifestHeader(buf: Uint8Array, file: string): ManifestHeader { // PA
  for (let i = 0; i < MANIFEST_MAGIC.length; i++) {
    if (buf[i] !== MANIFEST_MAGIC[i]) throw new CorruptionError("not a manifest file (bad magic)", { file, offset: 0 });
  }
  if (unmaskCrc(getU32(buf, 24)) !== crc32c(buf, 0, 24)) {
    throw new CorruptionError("manifest file header checksum mismatch", { file, offset: 0 });
  }
  const version = getU16(buf, 8);
  if (version !== MANIFEST_FORMAT_VERSION) {
    throw new CorruptionError(`unsupported manifest format version ${version} (this build reads ${MANIFEST_FORMAT_VERSION})`, { file, offset: 8 });
  }
  if (getU16(buf, 10) !== 0) throw new CorruptionError("manifest header flags must be 0", { file, offset: 10 });
  const hi = getU32(buf, 16);
  if (hi > 0x1fffff) throw new CorruptionError("manifest number exceeds 2^53-1", { file, offset: 12 });
  return { manifestNumber: getU64(buf, 12), checksumSeed: manifestChecksumSeed(getU32(buf, 20)) };
}

/** One record: header and payload, both checksums seeded with the manifest's salt. */
export function encodeManifestRecord(type: number, payload: Uint8Array, checksumSeed: number): Uint8Array { // PA
  const rec = new Uint8Array(MANIFEST_RECORD_HEADER_BYTES + payload.length);
  putU32(rec, 4, payload.length);
  rec[8] = type;
  putU32(rec, 9, maskCrc(crc32cUpdate(checksumSeed, rec, 4, 9)));
  rec.set(payload, MANIFEST_RECORD_HEADER_BYTES);
  putU32(rec, 0, maskCrc(crc32cUpdate(checksumSeed, rec, 4, rec.length)));
  return rec;
}

/** A record header whose header check passed. */
export interface ManifestRecordHeader {
  payloadBytes: number;
  type: number;
  crcMasked: number;
}

/**
 * Reads the record header at `at` (13 bytes must exist). Throws
 * CorruptionError if its check fails or its fields are impossible.
 */
export function decodeManifestRecordHeader(buf: Uint8Array, at: number, seed: number, file: string): ManifestRecordHeader { // PA
  if (unmaskCrc(getU32(buf, at + 9)) !== crc32cUpdate(seed, buf, at + 4, at + 9)) {
    throw new CorruptionError("manifest record header checksum mismatch", { file, offset: at });
  }
  const payloadBytes = getU32(buf, at + 4);
  const type = buf[at + 8]!;
  if (type !== MANIFEST_RECORD_SNAPSHOT && type !== MANIFEST_RECORD_EDIT) {
    throw new CorruptionError(`unknown manifest record type ${type}`, { file, offset: at });
  }
  if (payloadBytes > MANIFEST_RECORD_MAX_PAYLOAD_BYTES) {
    throw new CorruptionError(`manifest record length ${payloadBytes} exceeds the limit`, { file, offset: at });
  }
  return { payloadBytes, type, crcMasked: getU32(buf, at) };
}

/** True when the record's payload checksum matches (the whole record must be in `buf`). */
export function manifestRecordChecksumOk(buf: Uint8Array, at: number, h: ManifestRecordHeader, seed: number): boolean { // PA
  return unmaskCrc(h.crcMasked) === crc32cUpdate(seed, buf, at + 4, at + MANIFEST_RECORD_HEADER_BYTES + h.payloadBytes);
}
