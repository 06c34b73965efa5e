/**
 * Reads an SSTable with positional reads. Open reads the footer, the index,
 * the filter and the properties (and keeps them in memory); data blocks are
 * read on demand, checked against their CRC before use, and shared through
 * an optional block cache keyed `${fileNumber}:${offset}`.
 *
 * Cost sketch of a point lookup (`get`): one Bloom probe (a hash of the key
 * and 7 bit tests); on a maybe, a binary search over the in-memory
 * separators (~15 compares for 28k blocks = 116 MB, made on their 6-byte
 * prefixes held as numbers in one array: ~120 ns instead of ~190 ns over
 * the scattered strings), then the block
 * from the cache or one positional read of ~4 KiB (a few us) plus its CRC
 * (~11 us at 370 MB/s), then a binary search over ~16 restart points and at
 * most 16 entry decodes compared in place. A miss on the filter costs no I/O.
 *
 * Values handed out are views of the block they sit in. Blocks are never
 * changed once read (the cache holds them as they are), so a view stays
 * valid; the DB copies a value once, when it hands it to a user.
 */
import { ClosedError, CorruptionError } from "../../errors.ts";
import type { FileHandle, FileSystem } from "../../platform/fs.ts";
import type { CacheSlot } from "../cache/block-cache.ts";
import type { MemEntry } from "../cursor.ts";
import { BlockIter, BlockReader, decodeBlock, type DecodedBlock } from "./block-reader.ts";
import { BloomFilter } from "./bloom.ts";
import { BLOCK_TRAILER_BYTES, checkBlock, decodeFooter, SST_FOOTER_BYTES, type BlockHandle, type Footer } from "./format.ts";
import { decodeIndex, findBlockByPrefix, separatorPrefixes, type TableIndex } from "./index-block.ts";
import { decodeProperties, type TableProperties } from "./properties.ts";
import { TableCursor } from "./table-cursor.ts";

/**
 * The block cache as the reader sees it (the engine's LRU implements it).
 * It holds parsed blocks, so a hit costs no parse; blocks are never changed.
 */
export interface BlockCacheLike {
  get(key: string): BlockReader | undefined;
  /** May return a slot for `touch`, which finds the block again without the keyed lookup. */
  set(key: string, block: BlockReader): CacheSlot<BlockReader> | undefined | void;
  touch?(slot: CacheSlot<BlockReader>): BlockReader | undefined;
}

/** One stored version, as the compaction walk yields it. */
export interface TableEntry {
  key: string;
  seq: number;
  kind: number;
  /** A view of the block (copy it to keep it past a change of the caller's mind); undefined for deletes. */
  value: Uint8Array | undefined;
}

export interface TableVerifyReport {
  /** Blocks checked: every data block plus the index, filter and properties blocks. */
  blocks: number;
  problems: string[];
}

/** Reads `handle.length` bytes at `offset` in full; a short read is a truncated table. */
function readExact(handle: FileHandle, into: Uint8Array, offset: number): Uint8Array { // PA
  const n = handle.read(into, offset);
  if (n !== into.length) {
    throw new CorruptionError(`sstable truncated: read ${n} of ${into.length} bytes`, { file: handle.path, offset });
  }
  return into;
}

/** Reads a block and its trailer and checks the checksum; returns the contents. */
function readBlock(handle: FileHandle, h: BlockHandle): Uint8Array { // PA
  return checkBlock(readExact(handle, new Uint8Array(h.length + BLOCK_TRAILER_BYTES), h.offset), handle.path, h.offset);
}

interface TableMeta {
  footer: Footer;
  index: TableIndex;
  filter: BloomFilter;
  properties: TableProperties;
}

/** Reads and cross-checks footer, index, filter and properties. */
function readMeta(handle: FileHandle, fileNumber: number): TableMeta { // PA
  const file = handle.path;
  const fileBytes = handle.size();
  if (fileBytes < SST_FOOTER_BYTES) throw new CorruptionError(`file of ${fileBytes} bytes is too short to be an sstable`, { file, offset: 0 });
  const footer = decodeFooter(readExact(handle, new Uint8Array(SST_FOOTER_BYTES), fileBytes - SST_FOOTER_BYTES), file, fileBytes);
  if (footer.fileNumber !== fileNumber) {
    throw new CorruptionError(`sstable holds file number ${footer.fileNumber}, expected ${fileNumber}`, { file, offset: fileBytes - SST_FOOTER_BYTES + 36 });
  }
  const index = decodeIndex(readBlock(handle, footer.index), file, footer.index.offset, footer.index.offset);
  const filter = BloomFilter.decode(readBlock(handle, footer.filter));
  if (filter === undefined) throw new CorruptionError("sstable filter block malformed", { file, offset: footer.filter.offset });
  const properties = decodeProperties(readBlock(handle, footer.properties), file, footer.properties.offset, fileNumber, fileBytes);
  const n = index.separators.length;
  if (
    properties.dataBytes !== footer.index.offset ||
    properties.dataBlockCount !== n ||
    properties.largestKey !== index.separators[n - 1] ||
    properties.smallestKey > index.separators[0]!
  ) {
    throw new CorruptionError("sstable properties disagree with the index", { file, offset: footer.properties.offset });
  }
  return { footer, index, filter, properties };
}

export class TableReader {
  private closed = false;
  /** get's iterator, reused across calls (get is synchronous, so never shared by two walks). */
  private getIter: BlockIter | undefined = undefined;
  /** Block cache keys, made once per block: building the string per lookup cost more than the lookup. */
  private readonly cacheKeys: Array<string | undefined> = [];
  /** Where each block sits in the cache (if the cache hands out slots), to skip the keyed lookup. */
  private readonly slots: Array<CacheSlot<BlockReader> | undefined> = [];
  /** The separators' 6-byte prefixes as numbers (index-block.ts, findBlockByPrefix). */
  private readonly sepPrefixes: Float64Array;
  /** Bytes this reader keeps in memory while open: filter, index (keys, offsets, prefixes) and per-block slots. */
  readonly memoryBytes: number;

  private constructor( // A
    private readonly handle: FileHandle,
    readonly path: string,
    readonly fileNumber: number,
    private readonly cache: BlockCacheLike | undefined,
    private readonly meta: TableMeta,
  ) {
    this.sepPrefixes = separatorPrefixes(meta.index.separators);
    let keyBytes = 0;
    for (const k of meta.index.separators) keyBytes += k.length;
    // Per block: the separator string (~24 bytes of header), offset, length, prefix, cache key and slot references (8 each).
    this.memoryBytes = meta.filter.byteLength + keyBytes + meta.index.separators.length * (24 + 5 * 8) + 512;
  }

  /** Opens table `fileNumber` at `path`: reads footer, index, filter and properties only. */
  static open(fs: FileSystem, path: string, fileNumber: number, cache?: BlockCacheLike): TableReader { // PA
    const handle = fs.open(path, { readOnly: true });
    try {
      return new TableReader(handle, path, fileNumber, cache, readMeta(handle, fileNumber));
    } catch (e) {
      handle.close();
      throw e;
    }
  }

  get properties(): TableProperties { // A
    return this.meta.properties;
  }

  get blockCount(): number { // A
    return this.meta.index.separators.length;
  }

  /** Separator of data block i: >= its last key, <= the next block's first key. */
  separator(i: number): string { // A
    return this.meta.index.separators[i]!;
  }

  /** File offset of data block i (for messages). */
  blockOffset(i: number): number | undefined { // A
    return this.meta.index.offsets[i];
  }

  /** False only if the table certainly holds no version of key. */
  mayContain(key: string): boolean { // A
    return this.meta.filter.mayContain(key);
  }

  /** First data block that can hold key (blockCount when none). */
  findBlock(key: string): number { // A
    return findBlockByPrefix(this.meta.index.separators, this.sepPrefixes, key);
  }

  /** Newest version of key with seq <= snapshotSeq (a delete has kind 0), or undefined. */
  get(key: string, snapshotSeq: number): MemEntry | undefined { // PA
    this.checkOpen();
    if (!this.meta.filter.mayContain(key)) return undefined;
    const seps = this.meta.index.separators;
    let bi = findBlockByPrefix(seps, this.sepPrefixes, key);
    if (bi >= seps.length) return undefined;
    const block = this.block(bi, true);
    const it = this.getIter ?? (this.getIter = new BlockIter(block));
    it.reset(block);
    it.seek(key);
    return this.newestVisible(it, bi, key, snapshotSeq);
  }

  /** A user-key cursor (KeyCursor) over the table. */
  cursor(): TableCursor { // A
    this.checkOpen();
    return new TableCursor(this);
  }

  /**
   * Every stored version in table order (key ascending, seq descending),
   * for compaction. Blocks read here do not fill the cache unless asked.
   */
  *entries(fillCache = false): Generator<TableEntry> { // PA
    this.checkOpen();
    let prevKey = "";
    let prevSeq = 0;
    let first = true;
    for (let bi = 0; bi < this.blockCount; bi++) {
      const it = new BlockIter(this.block(bi, fillCache));
      for (it.seekToFirst(); it.valid(); it.next()) {
        const key = it.key();
        if (!first && (key < prevKey || (key === prevKey && it.seq >= prevSeq))) this.outOfOrder(bi);
        if (key > this.separator(bi) || (bi > 0 && key < this.separator(bi - 1))) this.outOfOrder(bi);
        first = false;
        prevKey = key;
        prevSeq = it.seq;
        yield { key, seq: it.seq, kind: it.kind, value: it.value() };
      }
    }
  }

  /**
   * Re-reads every block from the file (not from the cache), checks every
   * checksum and the structure, and reports each problem without stopping.
   */
  verify(): TableVerifyReport { // PA
    this.checkOpen();
    const problems: string[] = [];
    const report = (e: unknown): void => { // A
      if (!(e instanceof CorruptionError)) throw e;
      problems.push(e.message);
    };
    let blocks = 0;
    try {
      const meta = readMeta(this.handle, this.fileNumber);
      blocks += 3;
      if (meta.index.separators.length !== this.blockCount) problems.push(`${this.path}: index changed since open`);
    } catch (e) {
      report(e);
    }
    let entries = 0;
    let deletions = 0;
    for (let bi = 0; bi < this.blockCount; bi++) {
      try {
        const b = this.decoded(bi, false, false);
        blocks++;
        entries += b.keys.length;
        for (const k of b.kinds) if (k === 0) deletions++;
      } catch (e) {
        report(e);
      }
    }
    if (problems.length === 0 && (entries !== this.properties.entryCount || deletions !== this.properties.deletionCount)) {
      problems.push(`${this.path}: ${entries} entries (${deletions} deletions) in the blocks, properties say ${this.properties.entryCount} (${this.properties.deletionCount})`);
    }
    return { blocks, problems };
  }

  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }

  /** Data block i, verified: from the cache, or read, checked and (if fillCache) cached. */
  block(i: number, fillCache: boolean, useCache = true): BlockReader { // PA
    this.checkOpen();
    const cache = this.cache;
    const cacheKey = this.cacheKeys[i] ?? (this.cacheKeys[i] = `${this.fileNumber}:${this.meta.index.offsets[i]!}`);
    if (useCache && cache !== undefined) {
      const slot = this.slots[i];
      const cached = (slot !== undefined && cache.touch !== undefined ? cache.touch(slot) : undefined) ?? cache.get(cacheKey);
      if (cached !== undefined) return cached;
    }
    const h: BlockHandle = { offset: this.meta.index.offsets[i]!, length: this.meta.index.lengths[i]! };
    const block = BlockReader.parse(readBlock(this.handle, h), this.path, h.offset);
    if (fillCache && cache !== undefined) this.slots[i] = cache.set(cacheKey, block) ?? undefined;
    return block;
  }

  /**
   * Data block i decoded whole, with its keys checked against the index:
   * separator(i - 1) <= first key, last key <= separator(i).
   */
  decoded(i: number, fillCache = true, useCache = true): DecodedBlock { // PA
    const block = this.block(i, fillCache, useCache);
    const d = decodeBlock(block);
    const n = d.keys.length;
    if (d.keys[n - 1]! > this.separator(i) || (i > 0 && d.keys[0]! < this.separator(i - 1))) this.outOfOrder(i);
    return d;
  }

  /**
   * get's walk over key's versions from the iterator's entry on, into the
   * following blocks while the key's versions continue there. Bounded by the
   * blocks holding key: each outer pass moves to the next block.
   */
  private newestVisible(it: BlockIter, bi: number, key: string, snapshotSeq: number): MemEntry | undefined { // PA
    const seps = this.meta.index.separators;
    let prevSeq = Number.POSITIVE_INFINITY;
    for (;;) {
      for (; it.valid(); it.next()) {
        const c = it.compareKey(key);
        if (c > 0) return undefined;
        if (c < 0 || it.seq >= prevSeq) this.outOfOrder(bi);
        if (it.seq <= snapshotSeq) return { seq: it.seq, kind: it.kind, value: it.value() };
        prevSeq = it.seq;
      }
      // The versions go on in the next block only if this block's separator is the key itself.
      if (seps[bi] !== key || ++bi >= seps.length) return undefined;
      it.reset(this.block(bi, true));
      it.seekToFirst();
    }
  }

  private outOfOrder(bi: number): never { // A
    throw new CorruptionError(`sstable entries out of order in data block ${bi}`, { file: this.path, offset: this.meta.index.offsets[bi] });
  }

  private checkOpen(): void { // A
    if (this.closed) throw new ClosedError(`sstable ${this.path}`);
  }
}
