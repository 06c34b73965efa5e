/**
 * Iterators of the Level API over the engine's DBIterator. One EngineCursor
 * does the work; three thin classes give it the shapes abstract-level wants
 * (entries, keys, values).
 *
 * Snapshot: the cursor pins one engine Snapshot when it is created
 * (synchronously, as `supports.implicitSnapshots` promises) or borrows the
 * caller's explicit one, and reads every page and every seek at it.
 * Seek: DBIterator has no seek, so `_seek` returns the current engine
 * iterator and opens a fresh one at the same snapshot whose near bound is the
 * target (intersected with the original range). Cost: one engine seek, that
 * is O(log n) in the memtable plus one index lookup per table; no data copy.
 * Reads are synchronous in the engine (memory or positional reads), so a page
 * of `nextv(size)` is one tight loop with no per-entry promise.
 */
import { AbstractIterator, AbstractKeyIterator, AbstractValueIterator } from "abstract-level";
import { compareBytes } from "../encoding/bytes.ts";
import { BudgetExceededError, type DB, type DBIterator, type IterateOptions, type Snapshot } from "../index.ts";
import { toLevelError } from "./errors.ts";
import type { OuroborosSnapshot } from "./snapshot.ts";

/** The options abstract-level hands to `_iterator`, `_keys`, `_values` and `_clear` (keys already encoded). */
export interface PrivateRangeOptions {
  gt?: Uint8Array;
  gte?: Uint8Array;
  lt?: Uint8Array;
  lte?: Uint8Array;
  reverse: boolean;
  /** -1 for no limit (abstract-level enforces the limit itself for `_next` and `_nextv`). */
  limit: number;
  keys?: boolean;
  values?: boolean;
  snapshot?: OuroborosSnapshot;
}

type Entry = [Uint8Array, Uint8Array];

/** A cursor upper bound on one `_all()` call: the entries of one pass must fit in memory anyway. */
const ALL_ENTRIES_MAX = 50_000_000;

export class EngineCursor {
  private iterator: DBIterator | undefined;
  /** A failure at creation (closed database or snapshot), reported by the first read rather than by the constructor. */
  private readonly openError: unknown;
  private readonly snapshot: Snapshot | undefined;
  private readonly ownsSnapshot: boolean;
  private readonly base: IterateOptions;
  private closed = false;

  constructor(private readonly db: DB, options: PrivateRangeOptions, keys: boolean, values: boolean) { // A
    this.ownsSnapshot = options.snapshot === undefined;
    this.base = { reverse: options.reverse, keys, values, ...levelRange(options) };
    try {
      this.snapshot = options.snapshot?.engine ?? db.snapshot();
      this.base.snapshot = this.snapshot;
      this.iterator = db.iterate(this.base);
    } catch (e) {
      if (this.ownsSnapshot) this.snapshot?.release();
      this.openError = toLevelError(e, "iterator");
    }
  }

  next(): Entry | undefined { // A
    const it = this.live();
    try {
      return it.nextSync();
    } catch (e) {
      throw toLevelError(e, "iterator");
    }
  }

  /** Up to `size` entries; fewer only at the end. */
  nextv(size: number): Entry[] { // A
    const it = this.live();
    const out: Entry[] = [];
    try {
      for (let i = 0; i < size; i++) {
        const e = it.nextSync();
        if (e === undefined) break;
        out.push(e);
      }
    } catch (e) {
      throw toLevelError(e, "iterator");
    }
    return out;
  }

  /**
   * Every remaining entry, at most `max` (the limit left to the caller).
   * More than ALL_ENTRIES_MAX is a BudgetExceededError, never a silently cut list.
   */
  all(max: number): Entry[] { // A
    const out = this.nextv(Math.min(max, ALL_ENTRIES_MAX));
    if (out.length === ALL_ENTRIES_MAX && max > ALL_ENTRIES_MAX && this.next() !== undefined) {
      throw new BudgetExceededError(`all() would return more than ${ALL_ENTRIES_MAX} entries; page with nextv() instead`);
    }
    return out;
  }

  /** Repositions at the first key >= target (reverse: <= target), still within the original range. */
  seek(target: Uint8Array): void { // A
    const o: IterateOptions = { ...this.base };
    if (!o.reverse) narrowLower(o, target);
    else narrowUpper(o, target);
    this.live();
    const fresh = this.openEngineIterator(o);
    void this.iterator?.return();
    this.iterator = fresh;
  }

  /** Idempotent. Releases the engine iterator and the snapshot the cursor took itself. */
  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    void this.iterator?.return();
    if (this.ownsSnapshot) this.snapshot?.release();
  }

  private live(): DBIterator { // A
    if (this.iterator === undefined) throw this.openError;
    return this.iterator;
  }

  private openEngineIterator(o: IterateOptions): DBIterator { // A
    try {
      return this.db.iterate(o);
    } catch (e) {
      throw toLevelError(e, "iterator");
    }
  }
}

/**
 * The engine takes one bound per side; Level gives gte precedence over gt and
 * lte over lt when both are set (abstract-level's range tests pin this).
 */
function levelRange(o: PrivateRangeOptions): IterateOptions { // A
  const r: IterateOptions = {};
  if (o.gte !== undefined) r.gte = o.gte;
  else if (o.gt !== undefined) r.gt = o.gt;
  if (o.lte !== undefined) r.lte = o.lte;
  else if (o.lt !== undefined) r.lt = o.lt;
  return r;
}

/** Raises the lower bound of `o` to `target` (inclusive) unless the existing bound is already tighter. */
function narrowLower(o: IterateOptions, target: Uint8Array): void { // A
  const lower = (o.gt ?? o.gte) as Uint8Array | undefined;
  if (lower !== undefined) {
    const c = compareBytes(target, lower);
    if (c < 0 || (c === 0 && o.gt !== undefined)) return;
  }
  delete o.gt;
  o.gte = target;
}

/** Lowers the upper bound of `o` to `target` (inclusive) unless the existing bound is already tighter. */
function narrowUpper(o: IterateOptions, target: Uint8Array): void { // A
  const upper = (o.lt ?? o.lte) as Uint8Array | undefined;
  if (upper !== undefined) {
    const c = compareBytes(target, upper);
    if (c > 0 || (c === 0 && o.lt !== undefined)) return;
  }
  delete o.lt;
  o.lte = target;
}

/** Entries left before the iterator's limit (abstract-level's `limit` is Infinity when none). */
function remaining(it: { limit: number; count: number }): number { // A
  return it.limit === Infinity ? Infinity : Math.max(0, it.limit - it.count);
}

// abstract-level's typings fix K and V per database; the private API deals in
// already-encoded bytes, so these classes use Uint8Array for both.
type Db = DB;

export class OuroborosIterator extends AbstractIterator<object, Uint8Array, Uint8Array> {
  private readonly cursor: EngineCursor;

  constructor(owner: object, db: Db, options: PrivateRangeOptions) { // A
    super(owner, options as never);
    this.cursor = new EngineCursor(db, options, options.keys !== false, options.values !== false);
  }

  async _next(): Promise<Entry | undefined> { // A
    return this.cursor.next();
  }

  async _nextv(size: number): Promise<Entry[]> { // A
    return this.cursor.nextv(size);
  }

  async _all(): Promise<Entry[]> { // A
    return this.cursor.all(remaining(this));
  }

  _seek(target: Uint8Array): void { // A
    this.cursor.seek(target);
  }

  async _close(): Promise<void> { // A
    this.cursor.close();
  }
}

export class OuroborosKeyIterator extends AbstractKeyIterator<object, Uint8Array> {
  private readonly cursor: EngineCursor;

  constructor(owner: object, db: Db, options: PrivateRangeOptions) { // A
    super(owner, options as never);
    this.cursor = new EngineCursor(db, options, true, false);
  }

  async _next(): Promise<Uint8Array | undefined> { // A
    return this.cursor.next()?.[0];
  }

  async _nextv(size: number): Promise<Uint8Array[]> { // A
    return this.cursor.nextv(size).map((e) => e[0]);
  }

  async _all(): Promise<Uint8Array[]> { // A
    return this.cursor.all(remaining(this)).map((e) => e[0]);
  }

  _seek(target: Uint8Array): void { // A
    this.cursor.seek(target);
  }

  async _close(): Promise<void> { // A
    this.cursor.close();
  }
}

export class OuroborosValueIterator extends AbstractValueIterator<object, Uint8Array, Uint8Array> {
  private readonly cursor: EngineCursor;

  constructor(owner: object, db: Db, options: PrivateRangeOptions) { // A
    super(owner, options as never);
    this.cursor = new EngineCursor(db, options, false, true);
  }

  async _next(): Promise<Uint8Array | undefined> { // A
    return this.cursor.next()?.[1];
  }

  async _nextv(size: number): Promise<Uint8Array[]> { // A
    return this.cursor.nextv(size).map((e) => e[1]);
  }

  async _all(): Promise<Uint8Array[]> { // A
    return this.cursor.all(remaining(this)).map((e) => e[1]);
  }

  _seek(target: Uint8Array): void { // A
    this.cursor.seek(target);
  }

  async _close(): Promise<void> { // A
    this.cursor.close();
  }
}
