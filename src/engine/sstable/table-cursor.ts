/**
 * The table's KeyCursor: positions on user keys, always on the first
 * (newest) stored version of the key; `visible(seq)` walks the key's
 * versions from there. A key's versions may run on into the next blocks
 * (the index separator then equals the key), so stepping and `visible`
 * cross block boundaries where needed.
 *
 * Blocks are decoded whole when the cursor enters them (block-reader.ts),
 * which makes backward steps as cheap as forward ones; a forward scan
 * costs one block load (cache or read + CRC) and one decode per ~4 KiB.
 * Every loop below moves one entry per step, so it ends within the table.
 */
import { assert, CorruptionError } from "../../errors.ts";
import type { KeyCursor, MemEntry } from "../cursor.ts";
import type { DecodedBlock } from "./block-reader.ts";
import { SST_KIND_DELETE } from "./format.ts";
import type { TableReader } from "./table-reader.ts";
import { lowerBound } from "../lower-bound.ts";


export class TableCursor implements KeyCursor {
  private blk: DecodedBlock | undefined = undefined;
  private bi = -1;
  private ei = 0;

  constructor(private readonly table: TableReader) {} // A

  valid(): boolean { // A
    return this.blk !== undefined;
  }

  key(): string { // A
    assert(this.blk !== undefined, "sstable cursor read while not positioned on a key");
    return this.blk.keys[this.ei]!;
  }

  seekFirst(): void { // A
    this.load(0);
    this.ei = 0;
  }

  seekLast(): void { // A
    this.load(this.table.blockCount - 1);
    this.ei = this.blk!.keys.length - 1;
    this.backToNewestVersion();
  }

  /** First key >= key. */
  seek(key: string): void { // A
    const bi = this.table.findBlock(key);
    if (bi >= this.table.blockCount) return this.invalidate();
    this.load(bi);
    this.ei = lowerBound(this.blk!.keys, key);
    if (this.ei < this.blk!.keys.length) return;
    // Every key of block bi is below key; the next block starts at or above its separator (>= key).
    if (bi + 1 >= this.table.blockCount) return this.invalidate();
    this.load(bi + 1);
    this.ei = 0;
  }

  /** Last key <= key. */
  seekForPrev(key: string): void { // A
    this.seek(key);
    if (!this.valid()) this.seekLast();
    else if (this.key() !== key) this.prev();
  }

  next(): void { // PA
    const key = this.key();
    for (;;) {
      if (++this.ei >= this.blk!.keys.length) {
        if (this.bi + 1 >= this.table.blockCount) return this.invalidate();
        this.load(this.bi + 1);
        this.ei = 0;
      }
      const k = this.blk!.keys[this.ei]!;
      if (k === key) continue;
      if (k < key) this.corrupt("keys go backwards");
      return;
    }
  }

  prev(): void { // PA
    const key = this.key();
    if (this.ei > 0) {
      this.ei--;
    } else {
      if (this.bi === 0) return this.invalidate();
      this.load(this.bi - 1);
      this.ei = this.blk!.keys.length - 1;
    }
    if (this.blk!.keys[this.ei]! >= key) this.corrupt("keys do not go backwards");
    this.backToNewestVersion();
  }

  /** Newest version of the current key with seq <= snapshotSeq; the value is a view of the (immutable) block. */
  visible(snapshotSeq: number): MemEntry | undefined { // PA
    const key = this.key();
    let blk = this.blk!;
    let bi = this.bi;
    let ei = this.ei;
    let prevSeq = Number.POSITIVE_INFINITY;
    for (;;) {
      for (; ei < blk.keys.length && blk.keys[ei] === key; ei++) {
        const seq = blk.seqs[ei]!;
        if (seq >= prevSeq) this.corrupt("versions not in descending seq order");
        if (seq <= snapshotSeq) {
          const kind = blk.kinds[ei]!;
          return { seq, kind, value: kind !== SST_KIND_DELETE ? blk.data.subarray(blk.valueStarts[ei]!, blk.valueEnds[ei]!) : undefined };
        }
        prevSeq = seq;
      }
      if (ei < blk.keys.length || this.table.separator(bi) !== key || bi + 1 >= this.table.blockCount) return undefined;
      bi++;
      blk = this.table.decoded(bi);
      ei = 0;
    }
  }

  /** Moves from a version of the current key back to its newest one, into earlier blocks if needed. */
  private backToNewestVersion(): void { // PA
    const key = this.key();
    for (;;) {
      if (this.ei > 0) {
        if (this.blk!.keys[this.ei - 1] !== key) return;
        this.ei--;
        continue;
      }
      if (this.bi === 0 || this.table.separator(this.bi - 1) !== key) return;
      this.load(this.bi - 1);
      this.ei = this.blk!.keys.length - 1;
      if (this.blk!.keys[this.ei] !== key) this.corrupt("a key's versions do not continue across blocks as the index says");
    }
  }

  /** Enters block bi; a failure (corruption, I/O) leaves the cursor invalid, not half-moved. */
  private load(bi: number): void { // A
    if (bi === this.bi && this.blk !== undefined) return;
    try {
      this.blk = this.table.decoded(bi);
      this.bi = bi;
    } catch (e) {
      this.invalidate();
      throw e;
    }
  }

  private invalidate(): void { // A
    this.blk = undefined;
    this.bi = -1;
  }

  private corrupt(what: string): never { // A
    const bi = this.bi;
    this.invalidate();
    throw new CorruptionError(`sstable cursor: ${what} in data block ${bi}`, { file: this.table.path, offset: this.table.blockOffset(bi) });
  }
}
