/**
 * The value log's byte format (SPEC.md, "Value log"). A value-log file
 * `NNNNNN.vlog` is a 28-byte file header, then records back to back. Each
 * record holds one large value together with the key and sequence number of
 * the version it belongs to, so that GC, reading a file front to back, can
 * ask the LSM whether that version still points here.
 *
 * File header (28 bytes):
 *   0  magic "OUROBVLG" (8)     8  u16 format version (1)   10 u16 flags (0)
 *   12 u64 file number          20 u32 salt (random per file)
 *   24 u32 masked CRC32C of bytes [0, 24)
 * Record (22-byte header, then key and value):
 *   0  u32 record checksum: masked CRC32C, seeded, of bytes [4, end of record)
 *   4  u32 header check: masked CRC32C, seeded, of bytes [8, 22)
 *   8  u16 key length (<= 65,535)   10 u32 value length (<= 128 MiB)
 *   14 u64 sequence number (< 2^53)
 *   22 key bytes, then value bytes
 * "Seeded": every checksum starts from CRC32C of the file number (u64 LE),
 * so a record copied from another value-log file fails its checks, and a
 * reader needs nothing but the pointer (no header read) to check a record.
 * The salt is the file's identity beside its number (two files created with
 * one number, e.g. after a crash, differ), for forensics.
 *
 * The record header is fixed-width (not varints): records hold values of at
 * least `valueThreshold` (>= 1 KiB in every profile), so the ~10 bytes
 * varints would save are < 1%, and a fixed header is simpler to check.
 */
import { CorruptionError, assert } from "../../errors.ts";
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from "../../encoding/crc32c.ts";
import { getU16, getU32, putU16, putU32, putU64 } from "../../encoding/fixed.ts";
import { MAX_KEY_BYTES, MAX_VALUE_BYTES } from "../write-batch.ts";

export const VLOG_MAGIC = new Uint8Array([0x4f, 0x55, 0x52, 0x4f, 0x42, 0x56, 0x4c, 0x47]); // "OUROBVLG"
export const VLOG_FORMAT_VERSION = 1;
export const VLOG_FILE_HEADER_BYTES = 28;
export const VLOG_RECORD_HEADER_BYTES = 22;
/** Largest key and value a record holds (the engine's own limits). */
export const VLOG_MAX_KEY_BYTES = MAX_KEY_BYTES;
export const VLOG_MAX_VALUE_BYTES = MAX_VALUE_BYTES;
/** Largest whole record: header + largest key + largest value. */
export const VLOG_MAX_RECORD_BYTES = VLOG_RECORD_HEADER_BYTES + VLOG_MAX_KEY_BYTES + VLOG_MAX_VALUE_BYTES;

/** Bytes a record for a key of `keyBytes` and a value of `valueBytes` takes in the file. */
export function recordBytes(keyBytes: number, valueBytes: number): number { // A
  return VLOG_RECORD_HEADER_BYTES + keyBytes + valueBytes;
}

/** File name of value-log file number `n`: six or more digits, then ".vlog". */
export function vlogFileName(fileNumber: number): string { // A
  return `${String(fileNumber).padStart(6, "0")}.vlog`;
}

/** The file number of a value-log file name, or undefined if the name is not one (must round-trip). */
export function parseVlogFileName(name: string): number | undefined { // A
  const m = /^(\d{6,16})\.vlog$/.exec(name);
  if (m === null) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && vlogFileName(n) === name ? n : undefined;
}

/** A value-log file's identity as its header states it. */
export interface VlogFileHeader {
  fileNumber: number;
  salt: number;
  /** CRC32C of the file number: the starting value of every checksum in this file. */
  checksumSeed: number;
}

export function encodeVlogFileHeader(fileNumber: number, salt: number): Uint8Array { // PA
  const out = new Uint8Array(VLOG_FILE_HEADER_BYTES);
  out.set(VLOG_MAGIC, 0);
  putU16(out, 8, VLOG_FORMAT_VERSION);
  putU16(out, 10, 0);
  putU64(out, 12, fileNumber);
  putU32(out, 20, salt >>> 0);
  putU32(out, 24, maskCrc(crc32c(out, 0, 24)));
  return out;
}

/** The checksum seed of file number `fileNumber`: CRC32C of the number as a u64 LE. */
export function vlogChecksumSeed(fileNumber: number): number { // PA
  const b = new Uint8Array(8);
  putU64(b, 0, fileNumber);
  return crc32c(b);
}

/**
 * Checks a file header (at least 28 bytes of `buf`). Throws CorruptionError
 * naming the file; `expectedFileNumber` guards against a file that is not
 * the one the caller meant (a renamed or misplaced file).
 */
export function decodeVlogFileHeader(buf: Uint8Array, file: string, expectedFileNumber?: number): VlogFileHeader { // PA
  if (buf.length < VLOG_FILE_HEADER_BYTES) throw new CorruptionError("value-log file header truncated", { file, offset: 0 });
  for (let i = 0; i < VLOG_MAGIC.length; i++) {
    if (buf[i] !== VLOG_MAGIC[i]) throw new CorruptionError("not a value-log file (bad magic)", { file, offset: 0 });
  }
  if (unmaskCrc(getU32(buf, 24)) !== crc32c(buf, 0, 24)) {
    throw new CorruptionError("value-log file header checksum mismatch", { file, offset: 0 });
  }
  const version = getU16(buf, 8);
  if (version !== VLOG_FORMAT_VERSION) {
    throw new CorruptionError(`unsupported value-log format version ${version} (this build reads ${VLOG_FORMAT_VERSION})`, { file, offset: 8 });
  }
  if (getU16(buf, 10) !== 0) throw new CorruptionError("value-log file header flags must be 0", { file, offset: 10 });
  const hi = getU32(buf, 16);
  if (hi > 0x1fffff) throw new CorruptionError("value-log file number exceeds 2^53-1", { file, offset: 12 });
  const fileNumber = hi * 4294967296 + getU32(buf, 12);
  if (expectedFileNumber !== undefined && fileNumber !== expectedFileNumber) {
    throw new CorruptionError(`value-log header names file number ${fileNumber}, expected ${expectedFileNumber}`, { file, offset: 12 });
  }
  const salt = getU32(buf, 20);
  return { fileNumber, salt, checksumSeed: vlogChecksumSeed(fileNumber) };
}

/**
 * Writes a whole record at `out[at]` (caller guarantees room) and returns its
 * stored record checksum (the value a pointer carries). `key` is latin1.
 */
export function encodeVlogRecord(out: Uint8Array, at: number, key: string, seq: number, value: Uint8Array, seed: number): number { // PA
  putU16(out, at + 8, key.length);
  putU32(out, at + 10, value.length);
  putU64(out, at + 14, seq);
  putU32(out, at + 4, maskCrc(crc32cUpdate(seed, out, at + 8, at + VLOG_RECORD_HEADER_BYTES)));
  let p = at + VLOG_RECORD_HEADER_BYTES;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    assert(c <= 0xff, "engine keys are latin1 strings (one char per byte)");
    out[p++] = c;
  }
  out.set(value, p);
  const end = p + value.length;
  const stored = maskCrc(crc32cUpdate(seed, out, at + 4, end));
  putU32(out, at, stored);
  return stored;
}

/** A record header whose header check passed and whose fields are in range. */
export interface VlogRecordHeader {
  /** Stored (masked) record checksum. */
  checksum: number;
  keyBytes: number;
  valueBytes: number;
  seq: number;
  /** Whole record length: header + key + value. */
  recordBytes: number;
}

/**
 * Checks the 22-byte record header at `buf[at]` (the caller guarantees the
 * bytes are there). Returns the header, "badCheck" when the header check
 * fails (torn or damaged: the caller tells which), or throws
 * CorruptionError for a header that passes its check but holds impossible
 * values (that cannot be a torn write).
 */
export function checkVlogRecordHeader( // PA
  buf: Uint8Array,
  at: number,
  seed: number,
  file: string,
  fileOffset: number,
): VlogRecordHeader | "badCheck" {
  if (unmaskCrc(getU32(buf, at + 4)) !== crc32cUpdate(seed, buf, at + 8, at + VLOG_RECORD_HEADER_BYTES)) return "badCheck";
  const keyBytes = getU16(buf, at + 8);
  const valueBytes = getU32(buf, at + 10);
  const seqHi = getU32(buf, at + 18);
  if (valueBytes > VLOG_MAX_VALUE_BYTES) {
    throw new CorruptionError(`value-log record value length ${valueBytes} exceeds ${VLOG_MAX_VALUE_BYTES}`, { file, offset: fileOffset });
  }
  if (seqHi > 0x1fffff) throw new CorruptionError("value-log record sequence number exceeds 2^53-1", { file, offset: fileOffset });
  return {
    checksum: getU32(buf, at),
    keyBytes,
    valueBytes,
    seq: seqHi * 4294967296 + getU32(buf, at + 14),
    recordBytes: VLOG_RECORD_HEADER_BYTES + keyBytes + valueBytes,
  };
}

/** True when the stored record checksum matches `buf[at+4, at+recordBytes)`. */
export function vlogRecordChecksumOk(buf: Uint8Array, at: number, h: VlogRecordHeader, seed: number): boolean { // PA
  return unmaskCrc(h.checksum) === crc32cUpdate(seed, buf, at + 4, at + h.recordBytes);
}
