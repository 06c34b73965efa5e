/**
 * The read state: what a read sees at one moment, published as one frozen
 * object so a reader never mixes two moments: the active memtable, the
 * immutable memtables waiting for flush (newest first), and the Version
 * (the table files of every level). Rotation, flush and compaction each
 * publish a new one; readers take whichever is current when they start.
 *
 * Point reads (`getFrom`) are synchronous, so nothing can be deleted under
 * them and they need no reference. Cursors (`openCursor`) outlive the call:
 * they take a reference on the Version (its files stay on disk) and pin each
 * table they read in the table cache until closed.
 *
 * Cost sketch of a get that misses the memtables: for each level-0 file
 * whose key range holds the key, and then one file per deeper level (binary
 * search over the level's file ranges, ~log2(files) compares), a table-cache
 * acquire/release (a Map lookup) and the table's own get: a Bloom probe,
 * and on a maybe one block (cache or one positional read). Memtables first
 * (each a B+tree descent, ~1 us), tables newest to oldest, first hit wins.
 */
import type { KeyCursor, MemEntry } from "../cursor.ts";
import type { TableCache } from "../cache/table-cache.ts";
import { firstFileEndingAtOrAfter, LevelCursor } from "../iterator/level-cursor.ts";
import { MergingCursor } from "../iterator/merging-cursor.ts";
import type { Version } from "../manifest/version.ts";
import type { MemTable } from "../memtable/memtable.ts";
import type { TableReader } from "../sstable/table-reader.ts";

/** An immutable memtable and the log that was started when it was sealed (its data lives in the logs below that number). */
export interface SealedMemTable {
  readonly mem: MemTable;
  readonly nextLogNumber: number;
}

export interface ReadState {
  readonly mem: MemTable;
  /** Newest first. */
  readonly imms: readonly SealedMemTable[];
  readonly version: Version;
}

function tableGet(tables: TableCache<TableReader>, fileNumber: number, key: string, seq: number): MemEntry | undefined { // A
  const reader = tables.acquire(fileNumber);
  try {
    return reader.get(key, seq);
  } finally {
    tables.release(fileNumber);
  }
}

/** The newest version of `key` with seq <= `seq` in `rs` (a delete has kind 0), or undefined. */
export function getFrom(rs: ReadState, tables: TableCache<TableReader>, key: string, seq: number): MemEntry | undefined { // PA
  let e = rs.mem.get(key, seq);
  if (e !== undefined) return e;
  for (const imm of rs.imms) {
    e = imm.mem.get(key, seq);
    if (e !== undefined) return e;
  }
  const levels = rs.version.levels;
  for (const f of levels[0]!) {
    if (key < f.smallestKey || key > f.largestKey || f.minSeq > seq) continue;
    e = tableGet(tables, f.fileNumber, key, seq);
    if (e !== undefined) return e;
  }
  for (let level = 1; level < levels.length; level++) {
    const files = levels[level]!;
    if (files.length === 0) continue;
    const i = firstFileEndingAtOrAfter(files, key);
    if (i >= files.length || key < files[i]!.smallestKey || files[i]!.minSeq > seq) continue;
    e = tableGet(tables, files[i]!.fileNumber, key, seq);
    if (e !== undefined) return e;
  }
  return undefined;
}

/** A cursor over every source of `rs`, and the close that lets go of what it holds. */
export interface TreeCursor {
  cursor: KeyCursor;
  /** The version the cursor holds (compare with the current one to know whether closing may free files). */
  version: Version;
  /** Sources merged (memtables, level-0 tables, deeper levels): what the cursor may hold in memory scales with it. */
  sources: number;
  close(): void;
}

/** Opens a merging cursor over `rs`; holds a reference on its version and pins level-0 tables until close(). */
export function openCursor(rs: ReadState, tables: TableCache<TableReader>): TreeCursor { // PA
  const version = rs.version.ref();
  const children: KeyCursor[] = [rs.mem.iterator()];
  for (const imm of rs.imms) children.push(imm.mem.iterator());
  const pinned: number[] = [];
  const levelCursors: LevelCursor[] = [];
  let closed = false;
  const close = (): void => { // A
    if (closed) return;
    closed = true;
    try {
      for (const lc of levelCursors) lc.close();
      for (const n of pinned) tables.release(n);
    } finally {
      version.unref();
    }
  };
  try {
    for (const f of version.levels[0]!) {
      const reader = tables.acquire(f.fileNumber);
      pinned.push(f.fileNumber);
      children.push(reader.cursor());
    }
    for (let level = 1; level < version.levels.length; level++) {
      const files = version.levels[level]!;
      if (files.length === 0) continue;
      const lc = new LevelCursor(files, (n) => tables.acquire(n).cursor(), (n) => tables.release(n));
      levelCursors.push(lc);
      children.push(lc);
    }
  } catch (e) {
    close();
    throw e;
  }
  return { cursor: children.length === 1 ? children[0]! : new MergingCursor(children), version, sources: children.length, close };
}
