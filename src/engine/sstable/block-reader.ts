/**
 * Reads one data block (format in block-builder.ts) whose checksum has
 * already been verified. Decoding still checks every length against the
 * block's bounds, so damaged bytes that somehow pass the checksum give a
 * CorruptionError, never an out-of-range read, a hang or a garbage key.
 *
 * Two ways in:
 * - `BlockIter`: forward steps and `seek` (binary search over the restart
 *   points, then at most `restartInterval` decodes). Point lookups use it and
 *   compare keys against the bytes in place, making no key strings.
 * - `decodeBlock`: every entry into parallel arrays, for the table cursor,
 *   which walks both ways. A 4 KiB block of ~30 entries decodes in a few us,
 *   less than its one read from disk.
 */
import { CorruptionError } from "../../errors.ts";
import { latin1Slice } from "../../encoding/bytes.ts";
import { getU32 } from "../../encoding/fixed.ts";
import { RESTART_ENTRY_BYTES, SST_KIND_DELETE, SST_KIND_PUT, SST_KIND_VALUE_POINTER } from "./format.ts";

/** A verified block's contents with its restart array located. */
export class BlockReader {
  private constructor( // A
    readonly data: Uint8Array,
    /** Where the entries end and the restart offsets begin. */
    readonly restartsAt: number,
    readonly restartCount: number,
    readonly file: string,
    /** The block's offset in the file (for error messages). */
    readonly blockOffset: number,
  ) {}

  /** Locates the restart array; CorruptionError if it does not fit or the block holds no entry. */
  static parse(data: Uint8Array, file: string, blockOffset: number): BlockReader { // PA
    if (data.length < 2 * RESTART_ENTRY_BYTES) throw new CorruptionError(`sstable block of ${data.length} bytes is too short`, { file, offset: blockOffset });
    const count = getU32(data, data.length - RESTART_ENTRY_BYTES);
    const restartsAt = data.length - RESTART_ENTRY_BYTES - count * RESTART_ENTRY_BYTES;
    if (count < 1 || restartsAt <= 0) {
      throw new CorruptionError(`sstable block restart count ${count} does not fit its ${data.length} bytes`, { file, offset: blockOffset });
    }
    if (getU32(data, restartsAt) !== 0) throw new CorruptionError("sstable block's first restart is not 0", { file, offset: blockOffset + restartsAt });
    return new BlockReader(data, restartsAt, count, file, blockOffset);
  }

  /** Bytes this block keeps alive (what a block cache charges for it). */
  get byteLength(): number { // A
    return this.data.length;
  }

  /** Offset of restart point `i` (< restartCount), checked to lie among the entries. */
  restartOffset(i: number): number { // PA
    const off = getU32(this.data, this.restartsAt + i * RESTART_ENTRY_BYTES);
    if (off >= this.restartsAt) this.fail(`restart ${i} points past the entries`, this.restartsAt + i * RESTART_ENTRY_BYTES);
    return off;
  }

  fail(what: string, at: number): never { // A
    throw new CorruptionError(`sstable block malformed: ${what}`, { file: this.file, offset: this.blockOffset + at });
  }
}

/** Sign of (bytes b[start, end) - latin1 string s) in unsigned bytewise order. */
export function compareBytesToLatin1(b: Uint8Array, start: number, end: number, s: string): number { // A
  const n = Math.min(end - start, s.length);
  for (let i = 0; i < n; i++) {
    const d = b[start + i]! - s.charCodeAt(i);
    if (d !== 0) return d;
  }
  return end - start - s.length;
}

/** A forward walk over a block's entries; the current entry's fields are public for speed. */
export class BlockIter {
  private keyBuf = new Uint8Array(64);
  keyLen = 0;
  seq = 0;
  kind = 0;
  valueStart = 0;
  valueEnd = 0;
  /** Start of the current entry; equals block.restartsAt once past the last one. */
  private pos: number;
  private nextPos = 0;
  private p = 0;

  /** The block walked; `reset` moves the iterator to another one (reuse saves an allocation per lookup). */
  block: BlockReader;

  constructor(block: BlockReader) { // A
    this.block = block;
    this.pos = block.restartsAt;
  }

  /** Starts over on another block, before its first entry (not yet valid). */
  reset(block: BlockReader): void { // A
    this.block = block;
    this.pos = block.restartsAt;
    this.keyLen = 0;
  }

  valid(): boolean { // A
    return this.pos < this.block.restartsAt;
  }

  seekToFirst(): void { // A
    this.keyLen = 0;
    this.decodeAt(0);
  }

  next(): void { // A
    this.decodeAt(this.nextPos);
  }

  /** Moves to the first entry whose key is >= target (invalid if none). */
  seek(target: string): void { // PA
    const block = this.block;
    let lo = 0;
    let hi = block.restartCount - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (this.compareRestartKey(block.restartOffset(mid), target) < 0) lo = mid;
      else hi = mid - 1;
    }
    this.keyLen = 0;
    this.decodeAt(block.restartOffset(lo));
    // Each step moves forward by at least one byte, so this ends within the block.
    while (this.valid() && this.compareKey(target) < 0) this.next();
  }

  /** Sign of (current key - target). */
  compareKey(target: string): number { // A
    return compareBytesToLatin1(this.keyBuf, 0, this.keyLen, target);
  }

  key(): string { // A
    return latin1Slice(this.keyBuf, 0, this.keyLen);
  }

  /**
   * The current value (undefined for a delete) as a view of the block: one
   * allocation less per read. Blocks are never changed once built or cached;
   * whoever hands a value to a user copies it (DB.getSync, DBIterator).
   */
  value(): Uint8Array | undefined { // A
    return this.kind !== SST_KIND_DELETE ? this.block.data.subarray(this.valueStart, this.valueEnd) : undefined;
  }

  /**
   * Sign of (key of the restart entry at `pos` - target), compared in place:
   * a restart entry stores its whole key, so nothing is copied.
   */
  private compareRestartKey(pos: number, target: string): number { // PA
    const block = this.block;
    const end = block.restartsAt;
    this.p = pos;
    const shared = this.varint(end);
    const unshared = this.varint(end);
    this.p++; // kind
    this.varint(end); // seq
    this.varint(end); // value length
    if (shared !== 0) block.fail("restart entry shares key bytes", pos);
    if (this.p + unshared > end) block.fail("entry runs past the block's entries", pos);
    return compareBytesToLatin1(block.data, this.p, this.p + unshared, target);
  }

  /** Decodes the entry at `pos` on top of the key in keyBuf (the previous entry's). */
  private decodeAt(pos: number): void { // PA
    const block = this.block;
    const end = block.restartsAt;
    if (pos >= end) {
      this.pos = end;
      return;
    }
    const data = block.data;
    this.p = pos;
    const shared = this.varint(end);
    const unshared = this.varint(end);
    if (this.p >= end) block.fail("entry cut short", pos);
    const kind = data[this.p++]!;
    const seq = this.varint(end);
    const valueBytes = this.varint(end);
    const keyStart = this.p;
    if (shared > this.keyLen) block.fail(`entry shares ${shared} key bytes of a ${this.keyLen}-byte previous key`, pos);
    if (kind !== SST_KIND_PUT && kind !== SST_KIND_VALUE_POINTER && (kind !== SST_KIND_DELETE || valueBytes !== 0)) {
      block.fail(`entry of kind ${kind} with ${valueBytes} value bytes`, pos);
    }
    if (keyStart + unshared + valueBytes > end) block.fail("entry runs past the block's entries", pos);
    const keyLen = shared + unshared;
    if (keyLen > this.keyBuf.length) {
      const grown = new Uint8Array(Math.max(keyLen, this.keyBuf.length * 2));
      grown.set(this.keyBuf.subarray(0, shared), 0);
      this.keyBuf = grown;
    }
    // A byte loop, not set(subarray): allocating the view cost more than copying a short key (~+10% gets/s).
    const keyBuf = this.keyBuf;
    for (let i = 0; i < unshared; i++) keyBuf[shared + i] = data[keyStart + i]!;
    this.keyLen = keyLen;
    this.kind = kind;
    this.seq = seq;
    this.valueStart = keyStart + unshared;
    this.valueEnd = this.valueStart + valueBytes;
    this.pos = pos;
    this.nextPos = this.valueEnd;
  }

  /** A varint at this.p (< 2^53, at most 8 bytes, before `end`); advances this.p. */
  private varint(end: number): number { // PA
    const data = this.block.data;
    let at = this.p;
    // One-byte varints (lengths, small seqs) are most of them: no loop.
    if (at < end && data[at]! < 0x80) {
      this.p = at + 1;
      return data[at]!;
    }
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (at >= end) this.block.fail("varint cut short", this.p);
      const b = data[at++]!;
      result += (b & 0x7f) * scale;
      if (b < 0x80) {
        if (result > Number.MAX_SAFE_INTEGER) this.block.fail("varint exceeds 2^53", this.p);
        this.p = at;
        return result;
      }
      scale *= 128;
    }
    return this.block.fail("overlong varint", this.p);
  }
}

/** Every entry of a block, in parallel arrays (the cursor's form). */
export interface DecodedBlock {
  readonly data: Uint8Array;
  readonly keys: string[];
  readonly seqs: number[];
  readonly kinds: number[];
  readonly valueStarts: number[];
  readonly valueEnds: number[];
}

/**
 * Decodes every entry and checks the order inside the block: keys ascending,
 * versions of one key with strictly descending seq. A violation means the
 * bytes are not what a builder wrote: CorruptionError.
 */
export function decodeBlock(block: BlockReader): DecodedBlock { // PA
  const out: DecodedBlock = { data: block.data, keys: [], seqs: [], kinds: [], valueStarts: [], valueEnds: [] };
  const it = new BlockIter(block);
  let prevKey = "";
  let prevSeq = 0;
  for (it.seekToFirst(); it.valid(); it.next()) {
    const key = it.key();
    const n = out.keys.length;
    if (n > 0 && (key < prevKey || (key === prevKey && it.seq >= prevSeq))) {
      block.fail(`entries out of order at entry ${n}`, it.valueStart);
    }
    out.keys.push(key);
    out.seqs.push(it.seq);
    out.kinds.push(it.kind);
    out.valueStarts.push(it.valueStart);
    out.valueEnds.push(it.valueEnd);
    prevKey = key;
    prevSeq = it.seq;
  }
  return out;
}
