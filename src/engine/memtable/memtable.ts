/**
 * The memtable: every version of every key written since the last flush,
 * in key order, readable at any snapshot sequence number. Keys are latin1
 * strings (one char per byte), whose native `<` is unsigned bytewise order.
 *
 * Layout: a B+tree (SortedIndex, 64 keys per leaf) maps each key to a
 * node that points at its newest version; versions chain newest to oldest
 * and are never dropped, because an open snapshot may need any of them.
 * Versions are immutable and handed to readers as they are (no copy).
 *
 * Cost sketch: an add is one tree descent (~log2 n string compares, ~18 at
 * 262k keys, most a cache miss on the string body) plus two small objects;
 * a read is the same descent plus a walk down the version chain (one step
 * unless the key was overwritten after the reader's snapshot).
 *
 * Measured with bench/memtable.ts (16-byte random keys made the way the
 * WAL decoder makes them, 2-core EPYC VM, best of 2-7 runs), ops/s as
 * this tree / the same tree with a Map beside it / a skiplist:
 *
 *                      insert                  get (fresh key string)
 *   node 20 (compiled)
 *   32k random         2.02M / 1.39M / 1.07M   2.12M / 3.82M / 799k
 *   262k random        778k  / 460k  / 233k    713k  / 970k  / 142k
 *   1M random          459k  / 323k  / 116k    530k  / 889k  / 91k
 *   1M sequential      3.02M / 943k  / 1.44M   491k  / 926k  / 123k
 *   bun 1.4.5
 *   32k random         1.78M / 1.74M / 1.24M   1.68M / 7.52M / 707k
 *   262k random        547k  / 607k  / 237k    432k  / 2.24M / 151k
 *   1M random          335k  / 273k  / 109k    259k  / 1.56M / 80k
 *   1M sequential      3.49M / 1.28M / 2.00M   317k  / 1.75M / 134k
 *
 * The skiplist loses everywhere. The Map is a trade: on Node it costs
 * 1.4-1.7x on new random keys and 3x on sequential ones, buys 1.4-1.8x on
 * reads and ~2.5x on overwrites, and a 1:1 mix of new keys and reads came
 * out even or in the tree's favour (668k/600k at 32k, 437k/438k at 262k,
 * 416k/323k at 1M). On Bun, whose Map is fast and string compares slow,
 * the Map wins reads 4-6x and the mix 1.3-1.6x. It also costs ~30 bytes a
 * key and made full scans 1.2-1.8x slower (objects end up in memory in
 * insertion order, not key order). Node is the primary runtime, so no Map;
 * TreeMapTable in bench/memtable-alternatives.ts is the drop-in if
 * read-heavy workloads on memtable-resident keys come to dominate.
 */
import { assert } from "../../errors.ts";
import type { KeyCursor, MemEntry } from "../cursor.ts";
import { SortedIndex, SortedIndexCursor } from "./sorted-index.ts";

export const KIND_DELETE = 0;
export const KIND_PUT = 1;

export type { MemEntry } from "../cursor.ts";

/*
 * sizeBytes charges, measured as V8 heap growth per item (node 20
 * --expose-gc, 16-byte keys, 50k-500k keys, steady within 3 bytes):
 * - per distinct key, besides its chars: ~20 string header and padding,
 *   ~71 for the key node, its leaf slots at average fill and its share of
 *   the tree's nodes: 96;
 * - per version: the version object, 35 measured: 40;
 * - per put, besides the value bytes: the version's reference to the value
 *   (buffer, offset, length fields; estimated, not measured): 16. A version
 *   used to hold a Uint8Array view per value, 104 bytes measured, which also
 *   made a quarter of an awaited put's time garbage collection on a large heap.
 */
export const MEMTABLE_KEY_OVERHEAD_BYTES = 96;
export const MEMTABLE_VERSION_OVERHEAD_BYTES = 40;
export const MEMTABLE_VALUE_OVERHEAD_BYTES = 16;

/**
 * One version of a key. Shared with readers, so never changed after creation.
 * The value is kept as a range of the buffer it arrived in (the WAL record),
 * not as a view object per value; `value` makes the view when a reader asks.
 */
class Version implements MemEntry {
  constructor( // A
    readonly seq: number,
    readonly kind: number,
    private readonly buf: Uint8Array | undefined,
    private readonly off: number,
    private readonly len: number,
    readonly older: Version | undefined,
  ) {}

  get value(): Uint8Array | undefined { // A
    return this.buf === undefined ? undefined : this.buf.subarray(this.off, this.off + this.len);
  }
}

/**
 * A key's stable handle in the tree; only `head` moves, to a newer version.
 * Cursors cache it, so a version added under a cursor is seen through it.
 */
class KeyNode {
  constructor(public head: Version) {} // A
}

/** Newest version in the chain with seq <= snapshotSeq. */
function visibleIn(head: Version, snapshotSeq: number): Version | undefined { // A
  let v: Version | undefined = head;
  while (v !== undefined && v.seq > snapshotSeq) v = v.older;
  return v;
}

/** Stands in a spare KeyNode until the node is used for a new key. */
const NO_VERSION = new Version(0, KIND_DELETE, undefined, 0, 0, undefined);

export class MemTable {
  private readonly index = new SortedIndex<KeyNode>();
  /** The node the next new key will get; an overwrite finds the key's own node and leaves this one for later. */
  private spare = new KeyNode(NO_VERSION);
  private bytes = 0;
  private versions = 0;
  private seqHigh = 0;

  constructor() {} // A

  /** Adds a version of `key`. seq strictly increases across all calls. value is undefined iff kind === KIND_DELETE. */
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
    if (!(kind === KIND_PUT ? buf !== undefined : kind === KIND_DELETE && buf === undefined)) {
      assert(false, `memtable entry of kind ${kind} with ${buf === undefined ? "no" : "a"} value`);
    }
    // One descent both tells a new key from an overwrite and, for a new key, inserts it.
    const spare = this.spare;
    const node = this.index.insert(key, spare);
    if (node === spare) {
      node.head = new Version(seq, kind, buf, off, len, undefined);
      this.spare = new KeyNode(NO_VERSION);
      this.bytes += key.length + MEMTABLE_KEY_OVERHEAD_BYTES;
    } else {
      assert(node.head.seq < seq && node.head !== NO_VERSION, "memtable key node holds no version or a newer one");
      node.head = new Version(seq, kind, buf, off, len, node.head);
    }
    this.bytes += buf === undefined
      ? MEMTABLE_VERSION_OVERHEAD_BYTES
      : MEMTABLE_VERSION_OVERHEAD_BYTES + MEMTABLE_VALUE_OVERHEAD_BYTES + len;
    this.versions++;
    this.seqHigh = seq;
  }

  /** Newest version of key with seq <= snapshotSeq, or undefined if the memtable has none. */
  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    const node = this.index.find(key);
    return node === undefined ? undefined : visibleIn(node.head, snapshotSeq);
  }

  /** Approximate memory use: key chars + value bytes + the per-key, per-version and per-value overheads above. */
  get sizeBytes(): number { // A
    return this.bytes;
  }

  /** Distinct user keys. */
  get keyCount(): number { // A
    return this.index.size;
  }

  get versionCount(): number { // A
    return this.versions;
  }

  /** Highest seq added, 0 if none. */
  get lastSeq(): number { // A
    return this.seqHigh;
  }

  iterator(): MemTableIterator { // A
    return new MemTableCursor(this.index);
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
class MemTableCursor extends SortedIndexCursor<KeyNode> implements MemTableIterator {
  visible(snapshotSeq: number): MemEntry | undefined { // A
    return visibleIn(this.value().head, snapshotSeq);
  }

  versions(): MemEntry[] { // A
    const out: MemEntry[] = [];
    for (let v: Version | undefined = this.value().head; v !== undefined; v = v.older) out.push(v);
    return out;
  }
}
