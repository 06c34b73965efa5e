/**
 * The index block: one entry per data block, in file order, naming the block
 * by a separator key and its handle. The reader decodes it whole at open and
 * keeps it in memory (about 20-30 bytes a block: ~6 KB per MB of data at
 * 4 KiB blocks), so finding a key's block is a binary search with no I/O.
 *
 * Contents: varint count (>= 1), then count x { varint separator length,
 * separator bytes, varint block offset, varint block length }.
 *
 * Separator i: lastKey(i) <= sep(i) <= firstKey(i + 1), strictly below
 * firstKey(i + 1) unless a key's versions continue into block i + 1 (then
 * all three are equal). The last block's separator is its last key. So the
 * first block whose separator is >= K is the first block that can hold K,
 * and separators never decrease.
 */
import { CorruptionError } from "../../errors.ts";
import { latin1Slice, putLatin1 } from "../../encoding/bytes.ts";
import { getVarint, putVarint, varintLength } from "../../encoding/varint.ts";
import { BLOCK_TRAILER_BYTES } from "./format.ts";
import { lowerBound } from "../lower-bound.ts";

/**
 * A short key s with a <= s < b (a < b), or a itself when a == b. Shortening
 * keeps the index small: the first differing char is bumped where it can be.
 */
export function separatorKey(a: string, b: string): string { // A
  if (a === b) return a;
  const n = Math.min(a.length, b.length);
  let p = 0;
  while (p < n && a.charCodeAt(p) === b.charCodeAt(p)) p++;
  if (p === a.length) return a; // a is a prefix of b
  const c = a.charCodeAt(p);
  if (c + 1 < b.charCodeAt(p)) return a.slice(0, p) + String.fromCharCode(c + 1);
  // Bumping char p would reach b's char; bump a later char of a below 0xff instead.
  for (let q = p + 1; q < a.length; q++) {
    const d = a.charCodeAt(q);
    if (d < 0xff) return a.slice(0, q) + String.fromCharCode(d + 1);
  }
  return a;
}

/** The in-memory index: parallel arrays, one slot per data block. */
export interface TableIndex {
  separators: string[];
  offsets: number[];
  lengths: number[];
}

export function encodeIndex(index: TableIndex): Uint8Array { // PA
  const n = index.separators.length;
  let size = varintLength(n);
  for (let i = 0; i < n; i++) {
    const s = index.separators[i]!;
    size += varintLength(s.length) + s.length + varintLength(index.offsets[i]!) + varintLength(index.lengths[i]!);
  }
  const out = new Uint8Array(size);
  let at = putVarint(out, 0, n);
  for (let i = 0; i < n; i++) {
    const s = index.separators[i]!;
    at = putVarint(out, at, s.length);
    at = putLatin1(out, at, s);
    at = putVarint(out, at, index.offsets[i]!);
    at = putVarint(out, at, index.lengths[i]!);
  }
  return out;
}

/**
 * Decodes the index and checks its structure: the data blocks tile the file
 * from offset 0 up to `dataEnd` (the index block's offset) and separators
 * never decrease. `at` is the index block's file offset (for messages).
 */
export function decodeIndex(contents: Uint8Array, file: string, at: number, dataEnd: number): TableIndex { // PA
  const fail = (what: string): never => { // A
    throw new CorruptionError(`sstable index malformed: ${what}`, { file, offset: at });
  };
  const end = contents.length;
  const index: TableIndex = { separators: [], offsets: [], lengths: [] };
  try {
    let d = getVarint(contents, 0, end, "sstable index count");
    const count = d.value;
    // Each entry takes at least 3 bytes, which bounds the loop by the block size.
    if (count < 1 || count * 3 > end) fail(`${count} entries in ${end} bytes`);
    let expectOffset = 0;
    let prev = "";
    for (let i = 0; i < count; i++) {
      d = getVarint(contents, d.next, end, "sstable index separator length");
      if (d.next + d.value > end) fail(`separator ${i} runs past the block`);
      const sep = latin1Slice(contents, d.next, d.next + d.value);
      const offset = getVarint(contents, d.next + d.value, end, "sstable index block offset");
      d = getVarint(contents, offset.next, end, "sstable index block length");
      if (offset.value !== expectOffset) fail(`block ${i} at offset ${offset.value}, expected ${expectOffset}`);
      if (i > 0 && sep < prev) fail(`separator ${i} is below separator ${i - 1}`);
      if (d.value > 0xffffffff) fail(`block ${i} length ${d.value} too large`);
      index.separators.push(sep);
      index.offsets.push(offset.value);
      index.lengths.push(d.value);
      expectOffset = offset.value + d.value + BLOCK_TRAILER_BYTES;
      prev = sep;
    }
    if (d.next !== end) fail(`${end - d.next} bytes after the last entry`);
    if (expectOffset !== dataEnd) fail(`data blocks end at ${expectOffset}, the index starts at ${dataEnd}`);
  } catch (e) {
    if (e instanceof CorruptionError && e.file === undefined) fail(e.message);
    throw e;
  }
  return index;
}

/** First block whose separator is >= key (== block count when none). */
export function findBlock(separators: string[], key: string): number { // A
  return lowerBound(separators, key);
}

/** Key bytes packed into a separator prefix: 6 bytes = 48 bits, exact in a double. */
const PREFIX_CHARS = 6;

/**
 * The first 6 chars of `key` as a number (big-endian, missing chars as 0).
 * If prefix(a) < prefix(b) then a < b: the first differing padded byte is
 * either a real byte of both or a pad of the shorter a. Equal prefixes decide
 * nothing; the strings are compared then.
 */
export function keyPrefix(key: string): number { // A
  let n = 0;
  for (let i = 0; i < PREFIX_CHARS; i++) n = n * 256 + (i < key.length ? key.charCodeAt(i) : 0);
  return n;
}

/** The prefixes of the separators (8 bytes a block), for findBlockByPrefix. */
export function separatorPrefixes(separators: readonly string[]): Float64Array { // A
  const out = new Float64Array(separators.length);
  for (let i = 0; i < separators.length; i++) out[i] = keyPrefix(separators[i]!);
  return out;
}

/**
 * findBlock over the separators and their prefixes: the search compares
 * numbers in one contiguous array (235 KB for 29k blocks, mostly in cache)
 * and reads a separator string only when prefixes tie, instead of chasing
 * ~15 scattered strings per lookup.
 */
export function findBlockByPrefix(separators: readonly string[], prefixes: Float64Array, key: string): number { // A
  const kp = keyPrefix(key);
  let lo = 0;
  let hi = separators.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const sp = prefixes[mid]!;
    if (sp < kp || (sp === kp && separators[mid]! < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
