/**
 * Fixed-width little-endian integers. 64-bit values are JS numbers limited
 * to 2^53-1 (sequence numbers, offsets); the decoder rejects larger ones.
 */
import { CorruptionError } from "../errors.ts";

export function putU16(out: Uint8Array, at: number, v: number): void { // A
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
}

export function getU16(buf: Uint8Array, at: number): number { // A
  return buf[at]! | (buf[at + 1]! << 8);
}

export function putU32(out: Uint8Array, at: number, v: number): void { // A
  out[at] = v & 0xff;
  out[at + 1] = (v >>> 8) & 0xff;
  out[at + 2] = (v >>> 16) & 0xff;
  out[at + 3] = (v >>> 24) & 0xff;
}

export function getU32(buf: Uint8Array, at: number): number { // A
  return (buf[at]! | (buf[at + 1]! << 8) | (buf[at + 2]! << 16) | (buf[at + 3]! << 24)) >>> 0;
}

/** Writes a non-negative safe integer as 8 little-endian bytes. */
export function putU64(out: Uint8Array, at: number, v: number): void { // A
  putU32(out, at, v >>> 0);
  putU32(out, at + 4, Math.floor(v / 4294967296));
}

/** Reads 8 little-endian bytes; CorruptionError if the value exceeds 2^53-1. */
export function getU64(buf: Uint8Array, at: number): number { // PA
  const lo = getU32(buf, at);
  const hi = getU32(buf, at + 4);
  if (hi > 0x1fffff) throw new CorruptionError("64-bit field exceeds 2^53-1");
  return hi * 4294967296 + lo;
}
