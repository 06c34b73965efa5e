/**
 * Byte helpers: unsigned bytewise comparison (the key order of the whole
 * engine), UTF-8 and latin1 conversions. Keys inside the engine are held as
 * latin1 strings (one char per byte) because V8 compares those natively,
 * about 3x faster than a byte loop (MEASUREMENTS.md); the order of such
 * strings is exactly the unsigned bytewise order of the bytes.
 */

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: false });

/** Unsigned bytewise comparison: negative, zero or positive. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number { // A
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean { // A
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function utf8Encode(s: string): Uint8Array { // A
  return encoder.encode(s);
}

export function utf8Decode(b: Uint8Array): string { // A
  return decoder.decode(b);
}

const CHUNK = 4096;

/** Bytes to a latin1 string, one char (0-255) per byte (see latin1Slice). */
export function bytesToLatin1(b: Uint8Array): string { // A
  return latin1Slice(b, 0, b.length);
}

/** A latin1 string (chars 0-255 only) back to bytes. */
export function latin1ToBytes(s: string): Uint8Array { // A
  const n = s.length;
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = s.charCodeAt(i);
  return out;
}

/** Writes a latin1 string's bytes into `out` at `at`; returns the offset after. */
export function putLatin1(out: Uint8Array, at: number, s: string): number { // A
  for (let i = 0; i < s.length; i++) out[at + i] = s.charCodeAt(i);
  return at + s.length;
}

const HEX_PAIRS: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0")); // A

/** Lowercase hex of bytes (for messages, ids and tests): a table lookup per byte (ids are made on every put and read). */
export function toHex(b: Uint8Array): string { // A
  let s = "";
  for (let i = 0; i < b.length; i++) s += HEX_PAIRS[b[i]!]!;
  return s;
}

export function concatBytes(parts: Uint8Array[]): Uint8Array { // A
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `buf[start, end)` as a latin1 string, always flat. How matters on the hot
 * path (every key of every write and read passes here), measured on Node 20:
 * - up to 12 chars, appending char by char gives a flat string (V8 copies
 *   short concatenations);
 * - 16 and 8 bytes (the common key sizes) go through one `fromCharCode` call
 *   with explicit arguments: no subarray object, 1.6x the awaited puts/s of
 *   `fromCharCode.apply` over a subarray;
 * - other lengths: `fromCharCode.apply` over the bytes, in 4 KiB chunks; one
 *   flat string, unlike char-by-char appends past 12 chars, which build a
 *   rope that every later comparison must flatten.
 */
export function latin1Slice(buf: Uint8Array, start: number, end: number): string { // A
  const b = buf;
  const i = start;
  const n = end - start;
  if (n === 16) {
    return String.fromCharCode(
      b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!,
      b[i + 8]!, b[i + 9]!, b[i + 10]!, b[i + 11]!, b[i + 12]!, b[i + 13]!, b[i + 14]!, b[i + 15]!,
    );
  }
  if (n === 8) return String.fromCharCode(b[i]!, b[i + 1]!, b[i + 2]!, b[i + 3]!, b[i + 4]!, b[i + 5]!, b[i + 6]!, b[i + 7]!);
  if (n <= 12) {
    let s = "";
    for (let j = start; j < end; j++) s += String.fromCharCode(b[j]!);
    return s;
  }
  if (n <= CHUNK) return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
  let s = "";
  for (let j = start; j < end; j += CHUNK) {
    s += String.fromCharCode.apply(null, b.subarray(j, Math.min(end, j + CHUNK)) as unknown as number[]);
  }
  return s;
}

/** Values up to this many bytes are copied into a shared slab; bigger ones get their own buffer. */
const SLAB_COPY_MAX_BYTES = 1024;
const SLAB_BYTES = 8192;
let slab = new Uint8Array(SLAB_BYTES);
let slabUsed = 0;

/**
 * A copy of `src` that the caller owns (changing it changes nothing else).
 * Small copies are carved out of a shared 8 KiB slab, as Node's Buffer pool
 * does: on V8 a `slice()` of 100 bytes costs ~350 ns (an off-heap backing
 * store per copy) and a slab copy ~70-100 ns; on JavaScriptCore the two are
 * even (~70-100 ns). The prices: a copy kept alive keeps its slab (8 KiB)
 * alive, and `copy.buffer` is the shared slab (read a copy through
 * byteOffset/byteLength, as with Node's pooled Buffers).
 */
export function copyBytes(src: Uint8Array): Uint8Array { // A
  const n = src.length;
  if (n > SLAB_COPY_MAX_BYTES) return src.slice();
  if (slabUsed + n > SLAB_BYTES) {
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const at = slabUsed;
  slab.set(src, at);
  // Every copy starts 8-byte aligned, so a caller may view it as e.g. a Float64Array at its byteOffset.
  slabUsed = (at + n + 7) & ~7;
  return slab.subarray(at, at + n);
}
