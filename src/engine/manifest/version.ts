/**
 * A Version: the immutable set of live table files, per level, at one point
 * in the manifest's history. Level 0 files may overlap and are kept newest
 * first (descending maxSeq, then descending file number: a tiered merge of
 * old runs gets a new, higher number but keeps its old sequence range, and
 * the runs of level 0 never overlap in sequence ranges); every other level is a sorted run of
 * non-overlapping files kept by ascending smallest key.
 *
 * Versions are reference counted: the version set holds its current one,
 * and an open iterator or snapshot holds the version it reads, so the files
 * of that version stay alive (liveFileNumbers) until it lets go.
 *
 * `applyEdit` builds the next version's levels from a base and an edit and
 * refuses an edit that would break the invariants above. Cost: O(files) per
 * edit (the file-number index is rebuilt), plus a sort of each touched level;
 * edits come once per flush or compaction, so this stays off the hot path. *
 * `applyVlogDiscard` does the same for the value log's discard totals (file
 * number -> garbage record bytes): O(value-log files) per edit that has any.
 */
import { assert } from "../../errors.ts";
import { MAX_LEVELS, type FileMeta, type VersionEdit } from "./version-edit.ts";

type Fail = (message: string) => never;

export class Version {
  /** Files per level, frozen: level 0 newest first, others by smallest key. */
  readonly levels: readonly (readonly FileMeta[])[];
  private refs = 0;
  private released = false;
  private readonly onRelease: ((v: Version) => void) | undefined;

  constructor(levels: readonly (readonly FileMeta[])[], onRelease?: (v: Version) => void) { // A
    assert(levels.length === MAX_LEVELS, "a version has MAX_LEVELS levels");
    // Levels shared with the base version are frozen already; new ones hold file objects applyEdit made.
    this.levels = Object.freeze(levels.map((l) => (Object.isFrozen(l) ? l : Object.freeze(l.map((f) => Object.freeze(f))))));
    this.onRelease = onRelease;
  }

  /** The files of `level` (empty array for a level with none). */
  files(level: number): readonly FileMeta[] { // A
    return this.levels[level] ?? [];
  }

  get fileCount(): number { // A
    let n = 0;
    for (const l of this.levels) n += l.length;
    return n;
  }

  levelSizeBytes(level: number): number { // A
    let n = 0;
    for (const f of this.files(level)) n += f.sizeBytes;
    return n;
  }

  /** Calls `fn` for every file of every level (level 0 first). */
  forEachFile(fn: (file: FileMeta, level: number) => void): void { // A
    this.levels.forEach((files, level) => { for (const f of files) fn(f, level); });
  }

  get refCount(): number { // A
    return this.refs;
  }

  /** Keeps this version's files alive until the matching unref(). Returns this. */
  ref(): this { // A
    assert(!this.released, "ref() on a version that was already released");
    this.refs++;
    return this;
  }

  /** Drops one reference; at zero the version is released for good. */
  unref(): void { // PA
    assert(this.refs > 0, "unref() without a matching ref()");
    this.refs--;
    if (this.refs > 0) return;
    this.released = true;
    this.onRelease?.(this);
  }
}

/** An empty set of levels. */
export function emptyLevels(): FileMeta[][] { // A
  return Array.from({ length: MAX_LEVELS }, () => []);
}

function sortLevel(level: number, files: FileMeta[]): void { // A
  if (level === 0) files.sort((a, b) => b.maxSeq - a.maxSeq || b.fileNumber - a.fileNumber);
  else files.sort((a, b) => (a.smallestKey < b.smallestKey ? -1 : a.smallestKey > b.smallestKey ? 1 : a.fileNumber - b.fileNumber));
}

function checkNoOverlap(level: number, files: readonly FileMeta[], fail: Fail): void { // PA
  for (let i = 1; i < files.length; i++) {
    const prev = files[i - 1]!;
    const cur = files[i]!;
    if (!(prev.largestKey < cur.smallestKey)) {
      fail(`files ${prev.fileNumber} and ${cur.fileNumber} overlap in key range at level ${level}`);
    }
  }
}

/**
 * The levels after applying `edit` to `base`: deletions first, then
 * additions (so deleting a file at one level and adding it at another moves
 * it). Fails (through `fail`) on a deletion of a file not at that level, an
 * addition of a file number still live, or overlapping files at level >= 1.
 * Untouched levels share the base's arrays.
 */
export function applyEdit(base: readonly (readonly FileMeta[])[], edit: VersionEdit, fail: Fail): FileMeta[][] { // PA
  const levels: FileMeta[][] = base.map((l) => l as FileMeta[]);
  const touched = new Set<number>();
  const touch = (level: number): FileMeta[] => { // A
    if (!touched.has(level)) {
      touched.add(level);
      levels[level] = [...base[level]!];
    }
    return levels[level]!;
  };
  for (const d of edit.deleted ?? []) {
    const files = touch(d.level);
    const at = files.findIndex((f) => f.fileNumber === d.fileNumber);
    if (at < 0) fail(`deleted file ${d.fileNumber} is not at level ${d.level}`);
    files.splice(at, 1);
  }
  const live = new Set<number>();
  for (const l of levels) for (const f of l) live.add(f.fileNumber);
  for (const a of edit.added ?? []) {
    if (live.has(a.fileNumber)) fail(`added file ${a.fileNumber} is already live`);
    live.add(a.fileNumber);
    const { level, ...meta } = a;
    touch(level).push(meta);
  }
  for (const level of touched) {
    sortLevel(level, levels[level]!);
    if (level > 0) checkNoOverlap(level, levels[level]!, fail);
  }
  return levels;
}

/**
 * The value-log discard totals after `edit`: forgotten files dropped, then
 * each discard delta added (a file not yet in the map starts at 0). An edit
 * without either returns `base` itself. Fails (through `fail`) when a total
 * would pass 2^53-1. `edit` must have passed checkEdit (no file in both lists).
 */
export function applyVlogDiscard(base: ReadonlyMap<number, number>, edit: VersionEdit, fail: Fail): ReadonlyMap<number, number> { // PA
  if (edit.vlogDiscard === undefined && edit.vlogForget === undefined) return base;
  const out = new Map(base);
  for (const n of edit.vlogForget ?? []) out.delete(n);
  for (const d of edit.vlogDiscard ?? []) {
    const total = (out.get(d.fileNumber) ?? 0) + d.bytes;
    if (!Number.isSafeInteger(total)) fail(`value-log file ${d.fileNumber}: discard total passes 2^53-1`);
    out.set(d.fileNumber, total);
  }
  return out;
}
