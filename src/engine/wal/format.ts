/**
 * The write-ahead log's byte format (SPEC.md, "Write-ahead log"). One file
 * `NNNNNN.log` = a 24-byte file header, then records back to back. One
 * record holds one write batch, so a batch is applied whole or not at all.
 *
 * File header (28 bytes):
 *   0  magic "OUROBWAL" (8)     8  u16 format version (1)   10 u16 flags (0)
 *   12 u64 log number           20 u32 salt (random per log)
 *   24 u32 masked CRC32C of bytes [0, 24)
 * Record (17-byte header + payload):
 *   0  u32 masked CRC32C of the 4 salt bytes followed by bytes [4, 17 + length)
 *      (the salt makes a record that a user hid inside a value, or a record
 *      of another log, fail its checksum when recovery scans for records)
 *   4  u32 payload length       8  u8 record type (1 = write batch)
 *   9  u64 sequence number of the batch's first entry
 *   17 payload: the batch body (see write-batch.ts): u32 entry count, then per
 *      entry u8 kind (0 delete, 1 put), varint key length, key, and for puts
 *      varint value length, value. Entry i has sequence number first + i.
 */
import { CorruptionError } from "../../errors.ts";
import { crc32c, crc32cUpdate, maskCrc, unmaskCrc } from "../../encoding/crc32c.ts";
import { getU16, getU32, getU64, putU16, putU32, putU64 } from "../../encoding/fixed.ts";

export const WAL_MAGIC = new Uint8Array([0x4f, 0x55, 0x52, 0x4f, 0x42, 0x57, 0x41, 0x4c]); // "OUROBWAL"
export const WAL_FORMAT_VERSION = 1;
export const WAL_FILE_HEADER_BYTES = 28;
export const WAL_RECORD_HEADER_BYTES = 17;
export const WAL_RECORD_BATCH = 1;
/** Largest record payload a writer produces and a reader accepts. */
export const WAL_RECORD_MAX_PAYLOAD_BYTES = 512 * 1024 * 1024;

/** File name of log number `n`: six or more digits, then ".log". */
export function walFileName(logNumber: number): string { // A
  return `${String(logNumber).padStart(6, "0")}.log`;
}

/** The log number of a WAL file name, or undefined if the name is not one. */
export function parseWalFileName(name: string): number | undefined { // A
  const m = /^(\d{6,16})\.log$/.exec(name);
  return m ? Number(m[1]) : undefined;
}

/** A log's identity as its header states it. */
export interface WalFileHeader {
  logNumber: number;
  /** CRC32C of the salt bytes: the starting value of every record checksum in this log. */
  checksumSeed: number;
}

/** The checksum seed of a salt: CRC32C over its 4 little-endian bytes. */
export function checksumSeedOf(salt: number): number { // PA
  const b = new Uint8Array(4);
  putU32(b, 0, salt);
  return crc32c(b);
}

export function encodeWalFileHeader(logNumber: number, salt: number): Uint8Array { // PA
  const out = new Uint8Array(WAL_FILE_HEADER_BYTES);
  out.set(WAL_MAGIC, 0);
  putU16(out, 8, WAL_FORMAT_VERSION);
  putU16(out, 10, 0);
  putU64(out, 12, logNumber);
  putU32(out, 20, salt);
  putU32(out, 24, maskCrc(crc32c(out, 0, 24)));
  return out;
}

/** Checks a file header. Throws CorruptionError naming the file. */
export function decodeWalFileHeader(buf: Uint8Array, file: string): WalFileHeader { // PA
  if (buf.length < WAL_FILE_HEADER_BYTES) throw new CorruptionError("WAL file header truncated", { file, offset: 0 });
  for (let i = 0; i < WAL_MAGIC.length; i++) {
    if (buf[i] !== WAL_MAGIC[i]) throw new CorruptionError("not a WAL file (bad magic)", { file, offset: 0 });
  }
  if (unmaskCrc(getU32(buf, 24)) !== crc32c(buf, 0, 24)) {
    throw new CorruptionError("WAL file header checksum mismatch", { file, offset: 0 });
  }
  const version = getU16(buf, 8);
  if (version !== WAL_FORMAT_VERSION) {
    throw new CorruptionError(`unsupported WAL format version ${version} (this build reads ${WAL_FORMAT_VERSION})`, { file, offset: 8 });
  }
  return { logNumber: getU64(buf, 12), checksumSeed: checksumSeedOf(getU32(buf, 20)) };
}

/**
 * Fills the record header in `rec[at, at+17)` for the payload that follows
 * it (`payloadBytes` long) and computes the checksum over both, seeded with
 * the log's salt.
 */
export function sealWalRecord(rec: Uint8Array, at: number, payloadBytes: number, firstSeq: number, checksumSeed: number): void { // PA
  putU32(rec, at + 4, payloadBytes);
  rec[at + 8] = WAL_RECORD_BATCH;
  putU64(rec, at + 9, firstSeq);
  putU32(rec, at, maskCrc(crc32cUpdate(checksumSeed, rec, at + 4, at + WAL_RECORD_HEADER_BYTES + payloadBytes)));
}

/** A record header read from bytes, before its checksum is verified. */
export interface WalRecordHeader {
  crcMasked: number;
  payloadBytes: number;
  type: number;
  firstSeq: number;
}

/** Parses the fixed header fields; undefined if they are impossible (a cheap pre-check). */
export function peekWalRecordHeader(buf: Uint8Array, at: number): WalRecordHeader | undefined { // PA
  const payloadBytes = getU32(buf, at + 4);
  const type = buf[at + 8]!;
  if (type !== WAL_RECORD_BATCH || payloadBytes > WAL_RECORD_MAX_PAYLOAD_BYTES) return undefined;
  const hi = getU32(buf, at + 13);
  if (hi > 0x1fffff) return undefined;
  return { crcMasked: getU32(buf, at), payloadBytes, type, firstSeq: hi * 4294967296 + getU32(buf, at + 9) };
}

/** True when the stored checksum matches the record's bytes. */
export function walRecordChecksumOk(buf: Uint8Array, at: number, h: WalRecordHeader, checksumSeed: number): boolean { // PA
  return unmaskCrc(h.crcMasked) === crc32cUpdate(checksumSeed, buf, at + 4, at + WAL_RECORD_HEADER_BYTES + h.payloadBytes);
}
