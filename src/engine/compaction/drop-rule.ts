/**
 * Which versions a compaction keeps. Versions of one user key arrive newest
 * first; a reader at snapshot s sees the newest version with seq <= s, and
 * the latest reader (no snapshot) sees the newest version of all.
 *
 * - A version is visible to snapshot s iff seq <= s < (seq of the next newer
 *   version of the key, kept or not). The newest version is visible to the
 *   latest reader. A version visible to nobody is dropped: no reader can
 *   ever ask for it again (snapshots taken later see the newest version).
 * - A tombstone may be dropped only at the bottom (no older data for the key
 *   exists outside the compaction's inputs) and only if no snapshot is older
 *   than it (seq <= oldest snapshot): then every reader that sees it would
 *   see "absent" anyway, and every older version of the key is invisible to
 *   all readers, so those go too.
 * - Sequence zeroing (RocksDB does the same at its bottom level): a kept
 *   version at the bottom that every live snapshot sees (seq <= oldest
 *   snapshot, or no snapshots) is the only version of its key left and no
 *   reader can tell its seq from 0, so it is written with seq 0, which
 *   takes one varint byte instead of three or more (section 7.3) and
 *   brings the bottom level's size closer to the raw payload.
 * Cost: O(log snapshots) per version (a binary search), no allocation.
 *
 * Discard statistics (SPEC.md, "Discard statistics"): a version that is
 * dropped and holds a value pointer (kind 2) makes its whole value-log
 * record garbage. DiscardCounter sums those record lengths per value-log
 * file; the flush's or compaction's edit carries the sums (tag 7), so the
 * statistics become durable with the edit that drops the versions, never
 * before or without it. A kept version (also one rewritten with seq 0)
 * counts nothing. Cost: one pointer decode (~24 bytes) and a map update per
 * dropped pointer version; nothing for the others.
 */
import { CorruptionError } from "../../errors.ts";
import type { VlogDiscard } from "../manifest/version-edit.ts";
import { SST_KIND_DELETE, SST_KIND_VALUE_POINTER } from "../sstable/format.ts";
import { decodeValuePointer } from "../vlog/pointer.ts";

export class VersionFilter {
  private key: string | undefined = undefined;
  private newerSeq = Number.POSITIVE_INFINITY;
  private dropRest = false;

  /** `snapshots`: live snapshot sequence numbers, ascending. */
  constructor(private readonly snapshots: readonly number[], private readonly bottommost: boolean) {} // A

  /** Whether to keep this version. Versions must come in table order (key ascending, seq descending). */
  keep(key: string, seq: number, kind: number): boolean { // PA
    if (key !== this.key) {
      this.key = key;
      this.newerSeq = Number.POSITIVE_INFINITY;
      this.dropRest = false;
    }
    if (this.dropRest) return false;
    const newer = this.newerSeq;
    this.newerSeq = seq;
    if (!this.visible(seq, newer)) return false;
    if (kind === SST_KIND_DELETE && this.bottommost && (this.snapshots.length === 0 || seq <= this.snapshots[0]!)) {
      this.dropRest = true;
      return false;
    }
    return true;
  }

  /** The sequence number to write for a version keep() kept: 0 where no reader can tell it from 0. */
  outputSeq(seq: number): number { // PA
    return this.bottommost && (this.snapshots.length === 0 || seq <= this.snapshots[0]!) ? 0 : seq;
  }

  /** Some reader sees a version at seq whose next newer version is at `newer`. */
  private visible(seq: number, newer: number): boolean { // PA
    if (newer === Number.POSITIVE_INFINITY) return true;
    const s = this.snapshots;
    let lo = 0;
    let hi = s.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (s[mid]! < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < s.length && s[lo]! < newer;
  }
}

/** Per value-log file, the record bytes of the dropped versions that pointed there. */
export class DiscardCounter {
  private readonly bytes = new Map<number, number>();
  private total = 0;

  /** `where` names the input for an error (called only when a pointer does not decode). */
  constructor(private readonly where: () => string) {} // A

  /**
   * Counts a version that is not written out: for a value pointer, its
   * record's length goes to its file. A pointer that does not decode is a
   * CorruptionError (the flush or compaction fails, as for any damaged input).
   */
  dropped(kind: number, seq: number, value: Uint8Array | undefined): void { // PA
    if (kind !== SST_KIND_VALUE_POINTER) return;
    let p;
    try {
      if (value === undefined) throw new CorruptionError("a value-pointer version without a value");
      p = decodeValuePointer(value);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new CorruptionError(`dropped version (seq ${seq}) in ${this.where()} holds a bad value pointer: ${why}`, {}, { cause: e });
    }
    this.bytes.set(p.fileNumber, (this.bytes.get(p.fileNumber) ?? 0) + p.length);
    this.total += p.length;
  }

  /** Record bytes counted so far, over all files. */
  get totalBytes(): number { // A
    return this.total;
  }

  /** The edit's deltas, ascending by file number; undefined when nothing was counted. */
  deltas(): VlogDiscard[] | undefined { // A
    if (this.bytes.size === 0) return undefined;
    return [...this.bytes].sort((a, b) => a[0] - b[0]).map(([fileNumber, bytes]) => ({ fileNumber, bytes })); // A
  }
}
