/**
 * LEB128-style unsigned varints (7 bits a byte, low group first), as LevelDB
 * and protobuf use: small lengths cost one byte. Values up to 2^53-1 (the
 * largest safe JS integer); decoders reject overlong or truncated input.
 */
import { CorruptionError } from "../errors.ts";

export const VARINT_MAX_BYTES = 8; // ceil(53 / 7)

/** Bytes needed to encode `n`. */
export function varintLength(n: number): number { // A
  let len = 1;
  while (n >= 0x80) {
    n = Math.floor(n / 128);
    len++;
  }
  return len;
}

/** Writes `n` at `out[at]`, returns the offset after it. Caller guarantees room. */
export function putVarint(out: Uint8Array, at: number, n: number): number { // A
  while (n >= 0x80) {
    out[at++] = (n & 0x7f) | 0x80;
    n = Math.floor(n / 128);
  }
  out[at++] = n;
  return at;
}

/** Result of a decode: the value and the offset just after it. */
export interface Decoded {
  value: number;
  next: number;
}

/**
 * Reads a varint at `buf[at]`. Throws CorruptionError if it runs past `end`
 * or past 8 bytes / 2^53 (`what` names the structure being decoded).
 */
export function getVarint(buf: Uint8Array, at: number, end: number, what = "varint"): Decoded { // PA
  let result = 0;
  let scale = 1;
  for (let i = 0; i < VARINT_MAX_BYTES; i++) {
    if (at >= end) throw new CorruptionError(`truncated ${what}`);
    const b = buf[at++]!;
    result += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (!Number.isSafeInteger(result)) throw new CorruptionError(`${what} exceeds 2^53`);
      return { value: result, next: at };
    }
    scale *= 128;
  }
  throw new CorruptionError(`overlong ${what}`);
}
