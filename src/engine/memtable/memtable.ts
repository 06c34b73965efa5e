/**
 * The memtable: every version of every key written since the last flush,
 * in key order, readable at any snapshot sequence number. Keys are latin1
 * strings (one char per byte), whose native `<` is unsigned bytewise order.
 *
 * Layout: a B+tree (SortedIndex, 64 keys per leaf) orders the keys, and a
 * `Map` beside it finds a key's node in O(1) for point reads and for
 * telling an overwrite from a new key. A key's node points at its newest
 * version; versions chain newest to oldest and are never dropped, because
 * an open snapshot may need any of them. Versions are immutable and handed
 * to readers as they are (no copy per read).
 *
 * FIGURES_PLACEHOLDER
 */
import { assert } from "../../errors.ts";
import { SortedIndex, SortedIndexCursor } from "./sorted-index.ts";

export const KIND_DELETE = 0;
export const KIND_PUT = 1;

export interface MemEntry {
  seq: number;
  kind: number;
  /** undefined for deletes. */
  value: Uint8Array | undefined;
}

/*
 * sizeBytes charges, measured as V8 heap growth per item (node --expose-gc,
 * 16-byte flat keys, 50k-500k keys; the Map's doubling moves the per-key
 * figure between ~105 and ~120 bytes):
 * - per distinct key, besides its chars: ~16 string header, ~36 Map entry
 *   with its share of the hash table, ~20 leaf slots at average fill and
 *   tree nodes, ~20 key node, plus slack: 128;
 * - per version: the version object, 35 measured: 40;
 * - per put, besides the value bytes: the Uint8Array object that views the
 *   value (a subarray of the batch buffer), 104 measured.
 */
export const MEMTABLE_KEY_OVERHEAD_BYTES = 128;
export const MEMTABLE_VERSION_OVERHEAD_BYTES = 40;
export const MEMTABLE_VALUE_OVERHEAD_BYTES = 104;
/**
 * Distinct keys a memtable may hold. V8's Map stops at 2^24 entries; the
 * engine flushes by `sizeBytes` long before (64 MiB is < 1M keys).
 */
export const MEMTABLE_KEYS_MAX = 16_000_000;

/** One version of a key. Shared with readers, so never changed after creation. */
class Version implements MemEntry {
  constructor( // A
    readonly seq: number,
    readonly kind: number,
    readonly value: Uint8Array | undefined,
    readonly older: Version | undefined,
  ) {}
}

/** A key's stable handle in both the Map and the tree; only `head` moves, to a newer version. */
class KeyNode {
  constructor(public head: Version) {} // A
}

/** Newest version in the chain with seq <= snapshotSeq. */
function visibleIn(head: Version, snapshotSeq: number): Version | undefined { // A
  let v: Version | undefined = head;
  while (v !== undefined && v.seq > snapshotSeq) v = v.older;
  return v;
}

export class MemTable {
  private readonly byKey = new Map<string, KeyNode>();
  private readonly index = new SortedIndex<KeyNode>();
  private bytes = 0;
  private versions = 0;
  private seqHigh = 0;

  constructor() {} // A

  /** Adds a version of `key`. seq strictly increases across all calls. value is undefined iff kind === KIND_DELETE. */
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // PA
    // Every check comes before the first change, so a failed call leaves the memtable as it was.
    assert(Number.isSafeInteger(seq) && seq > this.seqHigh, `memtable seq ${seq} does not follow ${this.seqHigh}`);
    assert(
      kind === KIND_PUT ? value !== undefined : kind === KIND_DELETE && value === undefined,
      `memtable entry of kind ${kind} with ${value === undefined ? "no" : "a"} value`,
    );
    const node = this.byKey.get(key);
    if (node === undefined) {
      assert(this.byKey.size < MEMTABLE_KEYS_MAX, `memtable holds ${MEMTABLE_KEYS_MAX} keys; it must be flushed first`);
      const fresh = new KeyNode(new Version(seq, kind, value, undefined));
      const stored = this.index.insert(key, fresh);
      assert(stored === fresh, "memtable tree holds a key its map does not");
      this.byKey.set(key, fresh);
      this.bytes += key.length + MEMTABLE_KEY_OVERHEAD_BYTES;
    } else {
      node.head = new Version(seq, kind, value, node.head);
    }
    this.bytes += value === undefined
      ? MEMTABLE_VERSION_OVERHEAD_BYTES
      : MEMTABLE_VERSION_OVERHEAD_BYTES + MEMTABLE_VALUE_OVERHEAD_BYTES + value.length;
    this.versions++;
    this.seqHigh = seq;
  }

  /** Newest version of key with seq <= snapshotSeq, or undefined if the memtable has none. */
  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    const node = this.byKey.get(key);
    return node === undefined ? undefined : visibleIn(node.head, snapshotSeq);
  }

  /** Approximate memory use: key chars + value bytes + the per-key, per-version and per-value overheads above. */
  get sizeBytes(): number { // A
    return this.bytes;
  }

  /** Distinct user keys. */
  get keyCount(): number { // A
    return this.byKey.size;
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
export interface MemTableIterator {
  valid(): boolean;
  seekFirst(): void;
  seekLast(): void;
  /** First key >= key. */
  seek(key: string): void;
  /** Last key <= key. */
  seekForPrev(key: string): void;
  next(): void;
  prev(): void;
  /** Current user key (requires valid()). */
  key(): string;
  /** Newest version of the current key with seq <= snapshotSeq, or undefined if every version is newer. */
  visible(snapshotSeq: number): MemEntry | undefined;
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
