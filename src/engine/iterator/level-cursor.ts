/**
 * The level cursor: one KeyCursor over a whole LSM level of level >= 1, a
 * sorted run of table files whose key ranges do not overlap (the Version
 * keeps them by ascending smallestKey). Because the ranges are disjoint, the
 * level's key order is the files' key orders laid end to end, so the cursor
 * stands in one file at a time and hands over to the neighbouring file when
 * that one runs out (LevelDB's two-level iterator, with the file list as the
 * index).
 *
 * Files are opened lazily: a seek picks its file by binary search over the
 * file metadata (largestKey for seek, smallestKey for seekForPrev) and opens
 * only that one; a file is released as soon as the cursor leaves it, when the
 * cursor runs off either end of the level, and on close(). So at most one
 * table of the level is pinned in the table cache per open cursor, and a
 * level of thousands of files costs nothing until a key is read from it.
 *
 * Cost sketch: seek/seekForPrev is ~log2(files) string compares on metadata
 * plus the table cursor's own seek (one block load); next/prev is the table
 * cursor's step, plus at a file boundary one release, one open (table cache
 * hit: a Map lookup) and one seekFirst/seekLast. key() and visible() forward
 * to the table cursor.
 *
 * Direction changes need no care here: the cursor sits inside exactly one
 * file, whose own cursor changes direction, and crossing into the
 * neighbouring file from either side is the same hand-over.
 */
import { assert } from "../../errors.ts";
import type { KeyCursor, MemEntry } from "../cursor.ts";
import type { FileMeta } from "../manifest/version-edit.ts";

/** What the level cursor needs of a table's cursor; TableReader.cursor() is one. */
export type TableCursorLike = KeyCursor;

/** Index of the first file whose largestKey >= key (files.length when none): the only file of a sorted level that can hold key. */
export function firstFileEndingAtOrAfter(files: readonly FileMeta[], key: string): number { // A
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (files[mid]!.largestKey < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the last file whose smallestKey <= key (-1 when none). */
function lastFileStartingAtOrBefore(files: readonly FileMeta[], key: string): number { // A
  let lo = 0;
  let hi = files.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (files[mid]!.smallestKey <= key) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

export class LevelCursor implements KeyCursor {
  private readonly files: readonly FileMeta[];
  private readonly openTable: (fileNumber: number) => TableCursorLike;
  private readonly releaseTable: (fileNumber: number) => void;
  /** Index into files of the open file, -1 when none is open. */
  private fileIndex = -1;
  /** The open file's cursor; set exactly when fileIndex >= 0. */
  private table: TableCursorLike | undefined = undefined;
  private closed = false;

  constructor( // A
    files: readonly FileMeta[],
    openTable: (fileNumber: number) => TableCursorLike,
    releaseTable: (fileNumber: number) => void,
  ) {
    this.files = files;
    this.openTable = openTable;
    this.releaseTable = releaseTable;
  }

  valid(): boolean { // A
    return this.table !== undefined && this.table.valid();
  }

  key(): string { // A
    const t = this.table;
    if (t === undefined || !t.valid()) assert(false, "level cursor read while not positioned on a key");
    return t.key();
  }

  visible(snapshotSeq: number): MemEntry | undefined { // A
    const t = this.table;
    if (t === undefined || !t.valid()) assert(false, "level cursor read while not positioned on a key");
    return t.visible(snapshotSeq);
  }

  seekFirst(): void { // A
    this.checkOpen();
    if (this.files.length === 0) return this.leave();
    this.enter(0).seekFirst();
    this.skipEmptyForward();
  }

  seekLast(): void { // A
    this.checkOpen();
    if (this.files.length === 0) return this.leave();
    this.enter(this.files.length - 1).seekLast();
    this.skipEmptyBackward();
  }

  /** First key >= key: the first file that ends at or after key holds it (or the level has none). */
  seek(key: string): void { // A
    this.checkOpen();
    const i = firstFileEndingAtOrAfter(this.files, key);
    if (i >= this.files.length) return this.leave();
    this.enter(i).seek(key);
    this.skipEmptyForward();
  }

  /** Last key <= key: the last file that starts at or before key holds it (or the level has none). */
  seekForPrev(key: string): void { // A
    this.checkOpen();
    const i = lastFileStartingAtOrBefore(this.files, key);
    if (i < 0) return this.leave();
    this.enter(i).seekForPrev(key);
    this.skipEmptyBackward();
  }

  next(): void { // A
    this.checkOpen();
    const t = this.table;
    if (t === undefined || !t.valid()) assert(false, "level cursor stepped while not positioned on a key");
    t.next();
    this.skipEmptyForward();
  }

  prev(): void { // A
    this.checkOpen();
    const t = this.table;
    if (t === undefined || !t.valid()) assert(false, "level cursor stepped while not positioned on a key");
    t.prev();
    this.skipEmptyBackward();
  }

  /** Releases the open file, if any. Idempotent; the cursor is unusable afterwards. */
  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    this.leave();
  }

  /**
   * While the current file is exhausted, moves to the first key of the next
   * one; off the end of the level, releases the file. Bounded: each round
   * advances fileIndex.
   */
  private skipEmptyForward(): void { // A
    while (this.table !== undefined && !this.table.valid()) {
      const nextIndex = this.fileIndex + 1;
      if (nextIndex >= this.files.length) return this.leave();
      this.enter(nextIndex).seekFirst();
    }
  }

  /** The mirror of skipEmptyForward: to the last key of the previous file, or off the start. */
  private skipEmptyBackward(): void { // A
    while (this.table !== undefined && !this.table.valid()) {
      const prevIndex = this.fileIndex - 1;
      if (prevIndex < 0) return this.leave();
      this.enter(prevIndex).seekLast();
    }
  }

  /**
   * Returns the cursor of file i, opening it (and releasing the file the
   * cursor leaves) unless it is the open one. The old file is released
   * before the new one is opened, so a failing open leaves nothing pinned.
   */
  private enter(i: number): TableCursorLike { // A
    const open = this.table;
    if (open !== undefined && this.fileIndex === i) return open;
    this.leave();
    const file = this.files[i];
    if (file === undefined) assert(false, "level cursor entered a file index outside the level");
    this.table = this.openTable(file.fileNumber);
    this.fileIndex = i;
    return this.table;
  }

  /** Releases the open file, if any; the cursor is then not valid. */
  private leave(): void { // A
    if (this.table === undefined) return;
    const fileNumber = this.files[this.fileIndex]!.fileNumber;
    this.table = undefined;
    this.fileIndex = -1;
    this.releaseTable(fileNumber);
  }

  private checkOpen(): void { // A
    assert(!this.closed, "level cursor used after close()");
  }
}
