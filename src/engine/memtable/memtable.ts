/**
 * The memtable: every version of every key written since the last flush,
 * in key order, readable at any snapshot sequence number. Keys are latin1
 * strings (one char per byte), whose native `<` is unsigned bytewise order.
 *
 * Layout: a B+tree (SortedIndex, 64 keys per leaf) maps each key to the
 * row of its newest version; versions are rows of typed columns (no object
 * per version), chained newest to oldest and never dropped, because an
 * open snapshot may need any of them. Readers get a small entry object
 * made per read, whose value is a view of the WAL record.
 *
 * Cost sketch: an add is one tree descent (~log2 n compares of 6-byte
 * numeric key prefixes, a string compare only on a tie) plus one row;
 * a read is the same descent plus a walk down the version chain (one step
 * unless the key was overwritten after the reader's snapshot).
 *
 * Measured with bench/memtable.ts (16-byte random keys made the way the
 * WAL decoder makes them, 2-core EPYC VM, best of 2-7 runs), ops/s as
 * this memtable / the old tree with a Map beside it / a skiplist:
 *
 *                      insert                  get hit
 *   node 20 (compiled)
 *   32k random         2.08M / 1.58M / 1.86M   2.65M / 7.14M / 1.59M
 *   262k random        1.03M / 579k  / 404k    1.06M / 1.45M / 254k
 *   1M random          528k  / 346k  / 135k    631k  / 1.04M / 101k
 *   1M sequential      5.62M / 949k  / 1.75M   516k  / 1.03M / 132k
 *   bun 1.4.5
 *   32k random         3.01M / 2.33M / 1.30M   2.93M / 9.85M / 964k
 *   262k random        1.52M / 964k  / 225k    1.14M / 2.64M / 162k
 *   1M random          866k  / 501k  / 146k    846k  / 2.29M / 116k
 *   1M sequential      7.04M / 1.80M / 2.35M   366k  / 2.28M / 171k
 *
 * Against the tree before numeric prefixes and version rows (string
 * compares, two objects per key): node insert 778k -> 1.03M and get 713k ->
 * 1.06M at 262k, sequential 3.02M -> 5.62M (the append path skips the
 * search); bun insert 547k -> 1.52M, get 432k -> 1.14M at 262k.
 *
 * The skiplist loses everywhere. A Map beside the tree still wins point
 * reads 1.4-3x, and costs new-key inserts ~1.5x and ~30 bytes a key; it
 * made full scans 1.2-1.8x slower. Inserts and scans are the write path,
 * so no Map; TreeMapTable in bench/memtable-alternatives.ts is the drop-in
 * if read-heavy workloads on memtable-resident keys come to dominate.
 */
import { assert } from "../../errors.ts";
import type { KeyCursor, MemEntry } from "../cursor.ts";
import { SortedIndex, SortedIndexCursor } from "./sorted-index.ts";

export const KIND_DELETE = 0;
export const KIND_PUT = 1;
/** A put whose value lives in the value log: the entry's value is an encoded pointer (SPEC.md, value log). */
export const KIND_VALUE_POINTER = 2;

export type { MemEntry } from "../cursor.ts";

/*
 * sizeBytes charges, checked as V8 heap plus array buffer growth per put
 * (node 20 --expose-gc, 250k random 16-byte keys, 100-byte values in
 * batches of 1000: 99 B heap + 152 B buffers measured, 252 B charged):
 * - per distinct key, besides its chars: ~20 string header and padding,
 *   its leaf slots (key pointer, 8-byte prefix, row number) at average
 *   fill, its share of the inner nodes: 80;
 * - per version: its row in the typed columns (seq 8, older 4, offset 4,
 *   length 4, kind 1) with the columns' doubling slack, and its slot in the
 *   record-buffer column: 48;
 * - per put, besides the value bytes: the record's own framing of the entry
 *   (kind, lengths, key copy share): 8.
 * Versions used to be two objects per new key (a key node and a version);
 * as rows, the collector never traces them.
 */
export const MEMTABLE_KEY_OVERHEAD_BYTES = 80;
export const MEMTABLE_VERSION_OVERHEAD_BYTES = 48;
export const MEMTABLE_VALUE_OVERHEAD_BYTES = 8;

/** No older version (the end of a chain). */
const NONE = -1;
const INITIAL_ROWS = 1024;

/** What readers get: a small object made per read (versions are rows, not objects). */
class Entry implements MemEntry {
  constructor(readonly seq: number, readonly kind: number, readonly value: Uint8Array | undefined) {} // A
}

/**
 * Every version of the memtable as rows of typed columns, appended in seq
 * order and never changed: row r's key is wherever the tree points at r or
 * at a newer row whose chain reaches r. `older[r]` links a key's versions
 * newest to oldest. A value is the range bufs[r][offs[r], offs[r] + lens[r])
 * of the WAL record it arrived in (no view object per value).
 */
class VersionRows {
  seqs = new Float64Array(INITIAL_ROWS);
  older = new Int32Array(INITIAL_ROWS);
  offs = new Uint32Array(INITIAL_ROWS);
  lens = new Uint32Array(INITIAL_ROWS);
  kinds = new Uint8Array(INITIAL_ROWS);
  bufs: Array<Uint8Array | undefined> = [];
  count = 0;

  constructor() {} // A

  push(seq: number, kind: number, buf: Uint8Array | undefined, off: number, len: number, older: number): number { // A
    const r = this.count;
    if (r === this.seqs.length) this.grow();
    this.seqs[r] = seq;
    this.older[r] = older;
    this.offs[r] = off;
    this.lens[r] = len;
    this.kinds[r] = kind;
    this.bufs.push(buf);
    this.count = r + 1;
    return r;
  }

  /** Row r as a reader's entry; the value is a view of the record. */
  entry(r: number): MemEntry { // A
    const buf = this.bufs[r];
    return new Entry(this.seqs[r]!, this.kinds[r]!, buf === undefined ? undefined : buf.subarray(this.offs[r]!, this.offs[r]! + this.lens[r]!));
  }

  /** Newest row in the chain starting at `head` with seq <= snapshotSeq, or NONE. */
  visibleRow(head: number, snapshotSeq: number): number { // A
    let r = head;
    while (r !== NONE && this.seqs[r]! > snapshotSeq) r = this.older[r]!;
    return r;
  }

  private grow(): void { // A
    const n = this.seqs.length * 2;
    const seqs = new Float64Array(n);
    seqs.set(this.seqs);
    this.seqs = seqs;
    const older = new Int32Array(n);
    older.set(this.older);
    this.older = older;
    const offs = new Uint32Array(n);
    offs.set(this.offs);
    this.offs = offs;
    const lens = new Uint32Array(n);
    lens.set(this.lens);
    this.lens = lens;
    const kinds = new Uint8Array(n);
    kinds.set(this.kinds);
    this.kinds = kinds;
  }
}

export class MemTable {
  /** Key -> row of its newest version. */
  private readonly index = new SortedIndex<number>();
  private readonly rows = new VersionRows();
  private bytes = 0;
  private valueLogCharge = 0;
  private seqHigh = 0;

  constructor() {} // A

  /** Adds a version of `key`. seq strictly increases across all calls. value is undefined iff kind === KIND_DELETE (for KIND_VALUE_POINTER it is the pointer). */
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // PA
    this.addSlice(key, seq, kind, value, 0, value === undefined ? 0 : value.length);
  }

  /**
   * Adds a version whose value is `buf[off, off + len)` (buf undefined for a
   * delete), without making a view object for it: the commit path's form.
   */
  addSlice(key: string, seq: number, kind: number, buf: Uint8Array | undefined, off: number, len: number): void { // PA
    // Every check comes before the first change, so a failed call leaves the memtable as it was.
    // Messages are built only on failure: this runs once per written entry.
    if (!(Number.isSafeInteger(seq) && seq > this.seqHigh)) assert(false, `memtable seq ${seq} does not follow ${this.seqHigh}`);
    if (!(kind === KIND_PUT || kind === KIND_VALUE_POINTER ? buf !== undefined : kind === KIND_DELETE && buf === undefined)) {
      assert(false, `memtable entry of kind ${kind} with ${buf === undefined ? "no" : "a"} value`);
    }
    if (!(len >= 0 && len <= 0xffff_ffff && off >= 0 && off <= 0xffff_ffff)) assert(false, `memtable value range ${off}+${len} out of bounds`);
    const rows = this.rows;
    const r = rows.count;
    // One descent both tells a new key from an overwrite and, for a new key, inserts it (pointing at row r).
    const prev = this.index.upsert(key, r);
    const head = prev === undefined ? NONE : prev;
    rows.push(seq, kind, buf, off, len, head);
    if (head === NONE) this.bytes += key.length + MEMTABLE_KEY_OVERHEAD_BYTES;
    this.bytes += buf === undefined ? MEMTABLE_VERSION_OVERHEAD_BYTES : MEMTABLE_VERSION_OVERHEAD_BYTES + MEMTABLE_VALUE_OVERHEAD_BYTES + len;
    this.seqHigh = seq;
  }

  /**
   * Recovery's bulk load, step 1 (bulk-load.ts): a version of `key` as the
   * next row, not yet in the tree (invisible to reads until indexSorted).
   * Seqs increase across calls, as in addSlice; rows stay in log order, so
   * the columns fill sequentially. The key is charged as if new (step 2
   * takes the charge back for a key seen before), so step 2 never reads it.
   */
  appendUnindexed(key: string, seq: number, kind: number, buf: Uint8Array | undefined, off: number, len: number): void { // PA
    if (!(Number.isSafeInteger(seq) && seq > this.seqHigh)) assert(false, `memtable seq ${seq} does not follow ${this.seqHigh}`);
    if (!(kind === KIND_PUT || kind === KIND_VALUE_POINTER ? buf !== undefined : kind === KIND_DELETE && buf === undefined)) {
      assert(false, `memtable entry of kind ${kind} with ${buf === undefined ? "no" : "a"} value`);
    }
    this.rows.push(seq, kind, buf, off, len, NONE);
    this.bytes += key.length + MEMTABLE_KEY_OVERHEAD_BYTES;
    this.bytes += buf === undefined ? MEMTABLE_VERSION_OVERHEAD_BYTES : MEMTABLE_VERSION_OVERHEAD_BYTES + MEMTABLE_VALUE_OVERHEAD_BYTES + len;
    this.seqHigh = seq;
  }

  /**
   * Step 2: puts every row in the tree. `order` lists the rows by key
   * (keys[row], whose keyPrefix is prefixes[row]) ascending, one key's rows
   * in log order (bulk-load.ts sorts so). Keys are compared by prefix and
   * read only when two prefixes are equal, so the loop touches the key
   * strings (scattered in memory) as little as possible; each new key takes
   * the tree's append path; a key's rows are chained newest to oldest.
   */
  indexSorted(order: Uint32Array, keys: readonly string[], prefixes: Float64Array): void { // PA
    assert(this.index.size === 0 && order.length === this.rows.count, "indexSorted needs every appended row and an empty tree");
    const older = this.rows.older;
    let prevKey = "";
    let prevPrefix = -1;
    let prevRow = NONE;
    for (let i = 0; i < order.length; i++) {
      const row = order[i]!;
      const key = keys[row]!;
      const p = prefixes[row]!;
      if (p === prevPrefix && key === prevKey) {
        if (!(row > prevRow)) assert(false, "indexSorted: one key's rows out of log order");
        older[row] = prevRow;
        this.index.setLargestValue(row);
        this.bytes -= key.length + MEMTABLE_KEY_OVERHEAD_BYTES;
      } else {
        if (!(p > prevPrefix || (p === prevPrefix && key > prevKey))) assert(false, "indexSorted: keys out of order");
        this.index.appendLargest(key, p, row);
      }
      prevKey = key;
      prevPrefix = p;
      prevRow = row;
    }
  }

  /** Newest version of key with seq <= snapshotSeq, or undefined if the memtable has none. */
  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    const head = this.index.find(key);
    if (head === undefined) return undefined;
    const r = this.rows.visibleRow(head, snapshotSeq);
    return r === NONE ? undefined : this.rows.entry(r);
  }

  /** Approximate memory use: key chars + value bytes + the per-key and per-version overheads above. */
  get sizeBytes(): number { // A
    return this.bytes;
  }

  /** Value-log record bytes this memtable's pointers refer to (recovery re-reads them after a crash). */
  get valueLogBytes(): number { // A
    return this.valueLogCharge;
  }

  /** Adds value-log bytes the latest versions point at; the tree seals the memtable when sizeBytes + valueLogBytes reaches its limit. */
  chargeValueLog(bytes: number): void { // A
    this.valueLogCharge += bytes;
  }

  /** Distinct user keys. */
  get keyCount(): number { // A
    return this.index.size;
  }

  get versionCount(): number { // A
    return this.rows.count;
  }

  /** Highest seq added, 0 if none. */
  get lastSeq(): number { // A
    return this.seqHigh;
  }

  iterator(): MemTableIterator { // A
    return new MemTableCursor(this.index, this.rows);
  }
}

/**
 * A walk over the memtable's keys. It stays correct while `add` is called
 * between steps: `next`/`prev` continue from the current key to its true
 * neighbour in the current contents. Keys added after it was created may
 * show up; their versions are newer than any snapshot taken before, so
 * `visible` hides them from such snapshots.
 */
export interface MemTableIterator extends KeyCursor {
  /** Every version of the current key, newest first (for flushing). */
  versions(): MemEntry[];
}

/** The tree's own cursor (no delegation layer on the scan path) plus version reads. */
class MemTableCursor extends SortedIndexCursor<number> implements MemTableIterator {
  constructor(index: SortedIndex<number>, private readonly rows: VersionRows) { // A
    super(index);
  }

  visible(snapshotSeq: number): MemEntry | undefined { // A
    const r = this.rows.visibleRow(this.liveValue(), snapshotSeq);
    return r === NONE ? undefined : this.rows.entry(r);
  }

  versions(): MemEntry[] { // A
    const out: MemEntry[] = [];
    for (let r = this.liveValue(); r !== NONE; r = this.rows.older[r]!) out.push(this.rows.entry(r));
    return out;
  }
}
