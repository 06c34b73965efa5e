/**
 * The user-facing iterator: walks user keys in unsigned bytewise order (or
 * reverse) within bounds, at a fixed sequence number, skipping keys whose
 * newest visible version is a tombstone. It reads from any `KeyCursor`
 * (cursor.ts: a merging cursor over memtables and tables).
 *
 * The iterator holds a snapshot, and through `onFinish` the tree's files,
 * until it is exhausted, fails, or is `return()`ed (a `for await` loop that
 * breaks calls it), so the versions it reads stay.
 */
import { ClosedError, CorruptionError, InvalidArgumentError } from "../errors.ts";
import { bytesToLatin1, copyBytes, latin1ToBytes } from "../encoding/bytes.ts";
import { checkKey } from "./write-batch.ts";
import type { KeyCursor } from "./cursor.ts";
import { KIND_DELETE, KIND_VALUE_POINTER } from "./memtable/memtable.ts";
import type { ValueLog } from "./value-log.ts";
import type { Snapshot } from "./snapshot.ts";

export interface IterateOptions {
  gt?: Uint8Array | string;
  gte?: Uint8Array | string;
  lt?: Uint8Array | string;
  lte?: Uint8Array | string;
  /** Only keys starting with these bytes. */
  prefix?: Uint8Array | string;
  reverse?: boolean;
  /** Yield at most this many entries. */
  limit?: number;
  snapshot?: Snapshot;
  /** Yield keys (default true); when false the key slot holds an empty array. */
  keys?: boolean;
  /** Yield values (default true); when false the value slot holds an empty array. */
  values?: boolean;
}

/** Bounds as latin1 strings; `undefined` means unbounded. */
export interface KeyRange {
  lower?: string;
  lowerInclusive: boolean;
  upper?: string;
  upperInclusive: boolean;
  prefix?: string;
}

const EMPTY = new Uint8Array(0);

/** Validates bounds and turns them into a KeyRange. */
export function toKeyRange(o: IterateOptions): KeyRange { // A
  if ((o.gt !== undefined && o.gte !== undefined) || (o.lt !== undefined && o.lte !== undefined)) {
    throw new InvalidArgumentError("give at most one of gt/gte and one of lt/lte");
  }
  const lowerRaw = o.gt ?? o.gte;
  const upperRaw = o.lt ?? o.lte;
  const range: KeyRange = {
    lowerInclusive: o.gt === undefined,
    upperInclusive: o.lt === undefined,
  };
  if (lowerRaw !== undefined) range.lower = bytesToLatin1(checkKey(lowerRaw));
  if (upperRaw !== undefined) range.upper = bytesToLatin1(checkKey(upperRaw));
  if (o.prefix !== undefined) {
    const p = bytesToLatin1(checkKey(o.prefix));
    range.prefix = p;
    if (range.lower === undefined || range.lower < p) {
      range.lower = p;
      range.lowerInclusive = true;
    }
    const end = prefixEnd(p);
    if (end !== undefined && (range.upper === undefined || range.upper >= end)) {
      range.upper = end;
      range.upperInclusive = false;
    }
  }
  return range;
}

/** The smallest key greater than every key starting with `p`, or undefined if none (p is all 0xFF). */
export function prefixEnd(p: string): string | undefined { // A
  let n = p.length;
  while (n > 0 && p.charCodeAt(n - 1) === 0xff) n--;
  if (n === 0) return undefined;
  return p.slice(0, n - 1) + String.fromCharCode(p.charCodeAt(n - 1) + 1);
}

export class DBIterator implements AsyncIterableIterator<[Uint8Array, Uint8Array]> {
  private started = false;
  private done = false;
  private yielded = 0;
  private readonly limit: number;
  private readonly wantKeys: boolean;
  private readonly wantValues: boolean;
  private readonly reverse: boolean;

  constructor( // A
    private readonly cursor: KeyCursor,
    private readonly range: KeyRange,
    private readonly snapshot: Snapshot,
    private readonly ownsSnapshot: boolean,
    private readonly isClosed: () => boolean,
    options: IterateOptions,
    private readonly onFinish?: () => void,
    /** Resolves value-log pointers (undefined when the database has no value log). */
    private readonly values?: ValueLog,
  ) {
    const limit = options.limit;
    if (limit !== undefined && (typeof limit !== "number" || Number.isNaN(limit) || limit < 0)) {
      throw new InvalidArgumentError(`limit must be a non-negative number, got ${String(limit)}`);
    }
    this.limit = limit === undefined || limit === Infinity ? Infinity : Math.floor(limit);
    this.wantKeys = options.keys !== false;
    this.wantValues = options.values !== false;
    this.reverse = options.reverse === true;
  }

  [Symbol.asyncIterator](): this { // A
    return this;
  }

  next(): Promise<IteratorResult<[Uint8Array, Uint8Array]>> { // A
    try {
      const entry = this.nextSync();
      return Promise.resolve(entry === undefined ? { done: true, value: undefined } : { done: false, value: entry });
    } catch (e) {
      return Promise.reject(e);
    }
  }

  return(): Promise<IteratorResult<[Uint8Array, Uint8Array]>> { // A
    this.finish();
    return Promise.resolve({ done: true, value: undefined });
  }

  /** The next entry, or undefined at the end. Synchronous: the engine's data is in memory or in positional reads. */
  nextSync(): [Uint8Array, Uint8Array] | undefined { // A
    if (this.isClosed()) {
      this.finish();
      throw new ClosedError();
    }
    if (this.done) return undefined;
    try {
      const seq = this.snapshot.checkedSeq();
      if (!this.started) this.position();
      else this.step();
      for (; this.yielded < this.limit && this.cursor.valid(); this.step()) {
        const key = this.cursor.key();
        if (!this.inRange(key)) break;
        const e = this.cursor.visible(seq);
        if (e === undefined || e.kind === KIND_DELETE) continue;
        this.yielded++;
        const value = !this.wantValues ? EMPTY : e.kind === KIND_VALUE_POINTER ? resolvePointer(this.values, key, e.value!) : copyBytes(e.value!);
        return [this.wantKeys ? latin1ToBytes(key) : EMPTY, value];
      }
    } catch (e) {
      // A damaged block or a released snapshot: the iterator is over, and lets go of what it holds.
      this.finish();
      throw e;
    }
    this.finish();
    return undefined;
  }

  private position(): void { // A
    this.started = true;
    const r = this.range;
    const c = this.cursor;
    if (!this.reverse) {
      if (r.lower === undefined) c.seekFirst();
      else {
        c.seek(r.lower);
        if (!r.lowerInclusive && c.valid() && c.key() === r.lower) c.next();
      }
    } else if (r.upper === undefined) c.seekLast();
    else {
      c.seekForPrev(r.upper);
      if (!r.upperInclusive && c.valid() && c.key() === r.upper) c.prev();
    }
  }

  private step(): void { // A
    if (this.reverse) this.cursor.prev();
    else this.cursor.next();
  }

  /** Whether `key` is inside the far bound (and the prefix); the near bound was applied by seeking. */
  private inRange(key: string): boolean { // A
    const r = this.range;
    if (r.prefix !== undefined && !key.startsWith(r.prefix)) return false;
    if (!this.reverse) {
      if (r.upper !== undefined && (r.upperInclusive ? key > r.upper : key >= r.upper)) return false;
    } else if (r.lower !== undefined && (r.lowerInclusive ? key < r.lower : key <= r.lower)) {
      return false;
    }
    return true;
  }

  private finish(): void { // A
    if (this.done) return;
    this.done = true;
    try {
      if (this.ownsSnapshot) this.snapshot.release();
    } finally {
      this.onFinish?.();
    }
  }
}

/** The value a pointer entry of `key` refers to, read and checked; CorruptionError if there is no value log to read it from. */
export function resolvePointer(values: ValueLog | undefined, key: string, pointer: Uint8Array): Uint8Array { // PA
  if (values === undefined) throw new CorruptionError("an entry points into the value log, but this database has none open");
  return values.read(key, pointer);
}
