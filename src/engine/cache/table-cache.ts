/**
 * The table cache: open table readers (a file handle plus the table's index
 * and filter), bounded in count and in the bytes their indexes and filters
 * take (the memory budget's share for them), so the engine neither reopens
 * a table per read nor holds every table of a large database open.
 *
 * Readers are reference counted. `acquire` pins a reader and `release` unpins
 * it; eviction only ever closes an unpinned reader, the least recently
 * released one first. If every reader is pinned the cache holds more than its
 * capacity until releases let it shrink back (stats().overCapacity says by
 * how many). A deleted table is `evict`ed: closed now if unpinned, else
 * marked doomed and closed by its last release.
 *
 * Layout: a Map from file number to entry, plus a doubly linked list of the
 * unpinned entries in release order (sentinel.next is the oldest), so pin,
 * unpin and evict are O(1). Pinned entries are off the list.
 *
 * Cost sketch: acquire/release of an open table is a Map lookup and a few
 * pointer writes (~50 ns); a miss opens the table (a footer, index and filter
 * read: tens of microseconds and a file handle), which is what the cache saves.
 */
import { AssertionFailedError, ClosedError, InvalidArgumentError, assert } from "../../errors.ts";

export interface TableCacheStats {
  /** Open readers held, pinned or not, doomed included. */
  entries: number;
  capacity: number;
  /** Readers in use (acquired and not yet released). */
  pinned: number;
  /** Evicted (deleted) tables still open because someone uses them. */
  doomed: number;
  /** Entries above capacity now (all the rest pinned); 0 normally. */
  overCapacity: number;
  hits: number;
  misses: number;
  opens: number;
  closes: number;
  /** Readers closed to make room (not counting evict/close). */
  evictions: number;
  /** Memory the open readers hold (their `memoryBytes`), and the bound on it. */
  bytes: number;
  maxBytes: number;
}

/** What the cache can ask of a reader. */
export interface Closable {
  close(): void;
  /** Bytes the reader keeps in memory while open (index, filter); 0 if unknown. */
  readonly memoryBytes?: number;
}

class Entry<T> {
  refs = 0;
  doomed = false;
  /** Unpinned-list neighbours; both point at the entry itself while it is off the list. */
  prev: Entry<T> = this;
  next: Entry<T> = this;

  constructor( // A
    readonly fileNumber: number,
    readonly reader: T | undefined,
    readonly bytes: number,
  ) {}
}

export class TableCache<T extends Closable> {
  private readonly entries = new Map<number, Entry<T>>();
  /** Sentinel of the unpinned list: next is the least recently released. */
  private readonly sentinel = new Entry<T>(-1, undefined, 0);
  private bytes = 0;
  private pinnedCount = 0;
  private doomedCount = 0;
  private hits = 0;
  private misses = 0;
  private opens = 0;
  private closes = 0;
  private evictions = 0;
  private closed = false;

  constructor( // A
    readonly capacity: number,
    private readonly open: (fileNumber: number) => T,
    /** Bound on the readers' memoryBytes together (pinned readers may keep it above until released). */
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) {
      throw new InvalidArgumentError(`table cache capacity must be a positive integer, got ${capacity}`);
    }
    if (!(maxBytes > 0)) throw new InvalidArgumentError(`table cache maxBytes must be positive, got ${maxBytes}`);
  }

  /**
   * The reader of table `fileNumber`, opened if not cached, pinned until the
   * matching release. A doomed (evicted) table still open is shared, not reopened.
   * If open throws, nothing is cached and the error propagates.
   */
  acquire(fileNumber: number): T { // A
    if (this.closed) throw new ClosedError("table cache");
    let entry = this.entries.get(fileNumber);
    if (entry === undefined) {
      this.misses++;
      const reader = this.open(fileNumber);
      this.opens++;
      entry = new Entry(fileNumber, reader, reader.memoryBytes ?? 0);
      this.entries.set(fileNumber, entry);
      this.bytes += entry.bytes;
    } else {
      this.hits++;
      if (entry.refs === 0) unlink(entry);
    }
    if (entry.refs === 0) this.pinnedCount++;
    entry.refs++;
    this.trim();
    return entry.reader as T;
  }

  /** Unpins one acquire of `fileNumber`; the last release of a doomed table closes it. */
  release(fileNumber: number): void { // A
    const entry = this.entries.get(fileNumber);
    if (entry === undefined || entry.refs === 0) {
      throw new AssertionFailedError(`table cache release of table ${fileNumber} that is not acquired`);
    }
    entry.refs--;
    if (entry.refs > 0) return;
    this.pinnedCount--;
    if (entry.doomed) {
      this.doomedCount--;
      this.drop(entry);
      return;
    }
    const s = this.sentinel;
    entry.prev = s.prev;
    entry.next = s;
    s.prev.next = entry;
    s.prev = entry;
    this.trim();
  }

  /**
   * Forgets table `fileNumber` (deleted): closes it now if nobody uses it,
   * else at its last release. Returns whether the table was open.
   */
  evict(fileNumber: number): boolean { // A
    const entry = this.entries.get(fileNumber);
    if (entry === undefined) return false;
    if (entry.refs === 0) {
      unlink(entry);
      this.drop(entry);
    } else if (!entry.doomed) {
      entry.doomed = true;
      this.doomedCount++;
    }
    return true;
  }

  stats(): TableCacheStats { // A
    return {
      entries: this.entries.size,
      capacity: this.capacity,
      pinned: this.pinnedCount,
      doomed: this.doomedCount,
      overCapacity: Math.max(0, this.entries.size - this.capacity),
      hits: this.hits,
      misses: this.misses,
      opens: this.opens,
      closes: this.closes,
      evictions: this.evictions,
      bytes: this.bytes,
      maxBytes: this.maxBytes,
    };
  }

  /**
   * Closes every reader. Every acquire must have been released first (the
   * engine closes its iterators before its tables): closing a reader in use
   * would fail reads under its user, so a pinned reader here is a bug and
   * throws before anything is closed. Calling close again does nothing.
   */
  close(): void { // A
    if (this.closed) return;
    assert(this.pinnedCount === 0, `table cache closed with ${this.pinnedCount} table(s) still in use`);
    this.closed = true;
    const s = this.sentinel;
    // Bounded by the entry count: each pass removes one entry.
    while (s.next !== s) {
      const entry = s.next;
      unlink(entry);
      this.drop(entry);
    }
    assert(this.entries.size === 0, "table cache closed with entries off its unpinned list");
  }

  /** Closes the least recently released readers while over capacity (count or bytes). */
  private trim(): void { // A
    const s = this.sentinel;
    // Bounded: each pass removes one unpinned entry.
    while ((this.entries.size > this.capacity || this.bytes > this.maxBytes) && s.next !== s) {
      const oldest = s.next;
      unlink(oldest);
      this.drop(oldest);
      this.evictions++;
    }
  }

  /** Removes an unpinned entry (already off the list) and closes its reader; the entry is gone even if close throws. */
  private drop(entry: Entry<T>): void { // A
    assert(entry.refs === 0, "table cache closing a reader in use");
    this.entries.delete(entry.fileNumber);
    this.bytes -= entry.bytes;
    this.closes++;
    (entry.reader as T).close();
  }
}

/** Takes an entry off the unpinned list (no-op if it is not on it). */
function unlink<T>(entry: Entry<T>): void { // A
  entry.prev.next = entry.next;
  entry.next.prev = entry.prev;
  entry.prev = entry;
  entry.next = entry;
}
