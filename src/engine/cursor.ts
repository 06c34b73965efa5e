/**
 * The positioned walk over user keys that every source of the engine offers
 * (the memtable today; SSTables and the merging cursor over all sources with
 * the LSM issue). Each position exposes the version visible at a sequence
 * number, so the user-facing iterator (db-iterator.ts) works on any of them.
 */

/** One version of a key. */
export interface MemEntry {
  seq: number;
  kind: number;
  /** undefined for deletes. */
  value: Uint8Array | undefined;
}

export interface KeyCursor {
  valid(): boolean;
  seekFirst(): void;
  seekLast(): void;
  /** First key >= key. */
  seek(key: string): void;
  /** Last key <= key. */
  seekForPrev(key: string): void;
  next(): void;
  prev(): void;
  /** Current user key as a latin1 string (requires valid()). */
  key(): string;
  /** Newest version of the current key with seq <= snapshotSeq, or undefined if every version is newer. */
  visible(snapshotSeq: number): MemEntry | undefined;
}
