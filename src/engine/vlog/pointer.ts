/**
 * A value pointer: where a large value lives in the value log. It is stored
 * in the WAL and in SSTables as the version's value (a kind byte outside
 * this module says "this value is a pointer"), so it is small and its
 * decoder trusts nothing.
 *
 * Encoding (canonical, every field required, nothing after the last):
 *   varint file number (>= 1)   varint offset (>= 28, the file header)
 *   varint length (whole record: 22 .. VLOG_MAX_RECORD_BYTES)
 *   u32 LE checksum (the record's stored, masked record checksum)
 * At most 8 + 8 + 4 + 4 = 24 bytes (`VALUE_POINTER_MAX_BYTES`); a typical
 * pointer (file < 16384, offset < 2^35, a 64 KiB record) takes 2 + 5 + 3 + 4
 * = 14 bytes.
 *
 * Why the checksum: it binds the pointer to one exact record (key, seq and
 * value, in one file with its own salt). A pointer damaged in a way its own
 * decoder cannot see (e.g. a flipped offset that still decodes) then fails
 * at the read with a CorruptionError instead of returning another value.
 */
import { CorruptionError } from "../../errors.ts";
import { getU32, putU32 } from "../../encoding/fixed.ts";
import { putVarint, varintLength } from "../../encoding/varint.ts";
import { VLOG_FILE_HEADER_BYTES, VLOG_MAX_RECORD_BYTES, VLOG_RECORD_HEADER_BYTES } from "./format.ts";

export interface ValuePointer {
  /** The value-log file's number (`NNNNNN.vlog`). */
  fileNumber: number;
  /** Offset of the record's first byte in the file. */
  offset: number;
  /** Whole record length in bytes (header + key + value). */
  length: number;
  /** The record's stored (masked) record checksum. */
  checksum: number;
}

/** Largest encoded pointer: three varints of at most 8, 8 and 4 bytes, and a u32. */
export const VALUE_POINTER_MAX_BYTES = 24;
/** Smallest encoded pointer. */
export const VALUE_POINTER_MIN_BYTES = 7;

/** Throws CorruptionError unless the fields describe a possible record (the one check for encode and decode). */
function checkPointerFields(p: ValuePointer, what: string): void { // PA
  if (!Number.isSafeInteger(p.fileNumber) || p.fileNumber < 1) throw new CorruptionError(`${what}: file number ${p.fileNumber} is not >= 1`);
  if (!Number.isSafeInteger(p.offset) || p.offset < VLOG_FILE_HEADER_BYTES) {
    throw new CorruptionError(`${what}: offset ${p.offset} lies inside the value-log file header`);
  }
  if (!Number.isSafeInteger(p.length) || p.length < VLOG_RECORD_HEADER_BYTES || p.length > VLOG_MAX_RECORD_BYTES) {
    throw new CorruptionError(`${what}: record length ${p.length} is outside ${VLOG_RECORD_HEADER_BYTES}..${VLOG_MAX_RECORD_BYTES}`);
  }
  if (!Number.isSafeInteger(p.offset + p.length)) throw new CorruptionError(`${what}: record end exceeds 2^53-1`);
  if (!Number.isInteger(p.checksum) || p.checksum < 0 || p.checksum > 0xffffffff) {
    throw new CorruptionError(`${what}: checksum ${p.checksum} is not a u32`);
  }
}

/** Bytes `encodeValuePointer(p)` produces. */
export function valuePointerBytes(p: ValuePointer): number { // A
  return varintLength(p.fileNumber) + varintLength(p.offset) + varintLength(p.length) + 4;
}

/** The pointer's canonical bytes. An impossible pointer is our bug: it throws before anything is stored. */
export function encodeValuePointer(p: ValuePointer): Uint8Array { // PA
  checkPointerFields(p, "encodeValuePointer");
  const out = new Uint8Array(valuePointerBytes(p));
  let at = putVarint(out, 0, p.fileNumber);
  at = putVarint(out, at, p.offset);
  at = putVarint(out, at, p.length);
  putU32(out, at, p.checksum);
  return out;
}

/**
 * Reads one canonical varint (no overlong form: the last byte of a
 * multi-byte varint is never 0), at most `maxBytes` long.
 */
function readCanonicalVarint(buf: Uint8Array, at: number, end: number, maxBytes: number, what: string): { value: number; next: number } { // PA
  let value = 0;
  let scale = 1;
  for (let i = 0; i < maxBytes; i++) {
    if (at >= end) throw new CorruptionError(`value pointer truncated in ${what}`);
    const b = buf[at++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (b === 0 && i > 0) throw new CorruptionError(`value pointer ${what} is not canonically encoded`);
      if (!Number.isSafeInteger(value)) throw new CorruptionError(`value pointer ${what} exceeds 2^53-1`);
      return { value, next: at };
    }
    scale *= 128;
  }
  throw new CorruptionError(`value pointer ${what} is longer than ${maxBytes} bytes`);
}

/**
 * Decodes `buf[start, end)` (default: all of `buf`), which must hold exactly
 * one pointer. Every malformed input is a CorruptionError; `encode(decode(b))`
 * equals `b` for every input that decodes.
 */
export function decodeValuePointer(buf: Uint8Array, start = 0, end = buf.length): ValuePointer { // PA
  if (end - start > VALUE_POINTER_MAX_BYTES) throw new CorruptionError(`value pointer of ${end - start} bytes exceeds ${VALUE_POINTER_MAX_BYTES}`);
  const f = readCanonicalVarint(buf, start, end, 8, "file number");
  const o = readCanonicalVarint(buf, f.next, end, 8, "offset");
  const l = readCanonicalVarint(buf, o.next, end, 4, "length");
  if (end - l.next !== 4) throw new CorruptionError(`value pointer has ${end - l.next} bytes where its 4-byte checksum belongs`);
  const p: ValuePointer = { fileNumber: f.value, offset: o.value, length: l.value, checksum: getU32(buf, l.next) };
  checkPointerFields(p, "decodeValuePointer");
  return p;
}

/** True when two pointers name the same record (GC's "does the LSM still point here?"). */
export function samePointer(a: ValuePointer, b: ValuePointer): boolean { // A
  return a.fileNumber === b.fileNumber && a.offset === b.offset && a.length === b.length && a.checksum === b.checksum;
}
