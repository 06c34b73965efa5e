/**
 * Leveled compaction (the server default, after LevelDB): level 0 holds
 * flushed tables that may overlap; every deeper level is one sorted run
 * whose budget is `level1Bytes * levelSizeRatio^(L-1)`, so about 90% of the
 * data sits in the last level and a point read visits at most one file per
 * level. Write amplification is roughly levelSizeRatio per level crossed;
 * space amplification stays near 1.1x.
 *
 * Triggers, most urgent first (highest score):
 * - level 0 holds `l0CompactionTrigger` files or more (score files/trigger):
 *   the oldest level-0 file, with every level-0 file connected to it by key
 *   overlap (transitively), plus the level-1 files they overlap, into level 1;
 * - level L (1..MAX_LEVELS-2) is over budget (score size/budget): one file of
 *   L chosen round robin after the level's compaction pointer, plus the
 *   files of L+1 it overlaps, into L+1.
 * Outputs are cut at targetFileBytes and where they would overlap more than
 * 10 x targetFileBytes of the level below the output (grandparents), so one
 * later compaction of an output file stays bounded. A single input file with
 * nothing under it and small grandparent overlap is moved, not rewritten.
 */
import { MAX_LEVELS } from "../manifest/version-edit.ts";
import type { Version } from "../manifest/version.ts";
import type { ResolvedOptions } from "../options.ts";
import { deepestNonEmptyLevel, level0Closure, makeTask, overlapping, overlapsRange, spanOf } from "./ranges.ts";
import type { FileMeta } from "../manifest/version-edit.ts";
import type { CompactionPicker, CompactionReason, CompactionStatus, CompactionTask, ManualCompaction } from "./task.ts";

/** Output files stop overlapping more than this many target files of the grandparent level. */
export const GRANDPARENT_OVERLAP_FACTOR = 10;
/** A manual compaction step takes files of one level up to this many target files. */
export const MANUAL_STEP_TARGET_FILES = 8;

/** Byte budget of level >= 1. */
export function levelBudgetBytes(o: ResolvedOptions, level: number): number { // A
  return o.level1Bytes * o.levelSizeRatio ** (level - 1);
}

/** The most urgent level and its score (level 0 by file count, 1..MAX_LEVELS-2 by size). */
export function leveledScore(v: Version, o: ResolvedOptions): { level: number; score: number } { // A
  let best = { level: 0, score: v.files(0).length / o.l0CompactionTrigger };
  for (let level = 1; level < MAX_LEVELS - 1; level++) {
    const score = v.levelSizeBytes(level) / levelBudgetBytes(o, level);
    if (score > best.score) best = { level, score };
  }
  return best;
}

function gpCut(o: ResolvedOptions): { maxOverlapBytes: number } { // A
  return { maxOverlapBytes: GRANDPARENT_OVERLAP_FACTOR * o.targetFileBytes };
}

/** Level-0 files connected to `seed`, plus the level-1 files they overlap, into level 1. */
function level0Task(v: Version, o: ResolvedOptions, reason: CompactionReason, seed: readonly FileMeta[], allowMove: boolean): CompactionTask { // A
  const l0 = level0Closure(v, seed);
  const l1 = overlapping(v, 1, spanOf(l0));
  return makeTask(v, {
    reason,
    inputs: [{ level: 0, files: l0 }, { level: 1, files: l1 }],
    outputLevel: 1,
    targetFileBytes: o.targetFileBytes,
    grandparentCut: gpCut(o),
    allowMove,
  });
}

/** Files of `level` (already chosen) plus the files of level+1 they overlap, into level+1. */
function levelTask(v: Version, o: ResolvedOptions, reason: CompactionReason, level: number, files: readonly FileMeta[], allowMove: boolean): CompactionTask { // A
  const next = overlapping(v, level + 1, spanOf(files));
  const parts = {
    reason,
    inputs: [{ level, files }, { level: level + 1, files: next }],
    outputLevel: level + 1,
    targetFileBytes: o.targetFileBytes,
    grandparentCut: gpCut(o),
    allowMove,
  };
  return makeTask(v, reason === "manual" ? parts : { ...parts, compactPointer: { level, key: files[files.length - 1]!.largestKey } });
}

/** The first file of `level` after the round-robin pointer (wrapping to the first). */
function roundRobinFile(v: Version, level: number, pointer: string | undefined): FileMeta { // A
  const files = v.files(level);
  return files.find((f) => pointer === undefined || f.largestKey > pointer) ?? files[0]!;
}

export class LeveledPicker implements CompactionPicker {
  readonly strategy = "leveled" as const;

  pick(v: Version, o: ResolvedOptions, pointer: (level: number) => string | undefined): CompactionTask | undefined { // A
    const best = leveledScore(v, o);
    if (best.score < 1) return undefined;
    if (best.level === 0) {
      const l0 = v.files(0);
      return level0Task(v, o, "l0-trigger", [l0[l0.length - 1]!], true);
    }
    const f = roundRobinFile(v, best.level, pointer(best.level));
    return levelTask(v, o, "level-size", best.level, [f], true);
  }

  /**
   * Moves everything overlapping the range down, level by level, to the
   * deepest non-empty level (at least level 1). Level 0 goes in one step;
   * a deeper level in steps of up to MANUAL_STEP_TARGET_FILES target files.
   * Manual steps are never trivial moves, so tombstones reaching the bottom
   * are dropped. Ends: every step takes at least one file off `m.level`, and
   * a step budget bounds the total even while other work adds files.
   */
  pickManual(v: Version, o: ResolvedOptions, m: ManualCompaction): CompactionTask | undefined { // A
    if (m.done) return undefined;
    m.stepsLeft ??= 4 * (v.fileCount + Math.ceil(totalBytes(v) / o.targetFileBytes)) + 2 * MAX_LEVELS;
    for (let rounds = 0; rounds <= MAX_LEVELS; rounds++) {
      const last = Math.max(1, deepestNonEmptyLevel(v));
      if (m.level >= last || m.stepsLeft <= 0) break;
      const files = v.files(m.level).filter((f) => overlapsRange(f, m.range));
      if (files.length === 0) {
        m.level++;
        continue;
      }
      m.stepsLeft--;
      if (m.level === 0) {
        m.level = 1;
        return level0Task(v, o, "manual", files, false);
      }
      return levelTask(v, o, "manual", m.level, prefixUpTo(files, MANUAL_STEP_TARGET_FILES * o.targetFileBytes), false);
    }
    m.done = true;
    return undefined;
  }

  pickIdle(v: Version, o: ResolvedOptions): CompactionTask | undefined { // A
    return this.pick(v, o, () => undefined);
  }

  mustStall(v: Version, o: ResolvedOptions): boolean { // A
    return v.files(0).length >= o.maxSortedRuns;
  }

  status(v: Version, o: ResolvedOptions): CompactionStatus { // A
    return { sortedRuns: countSortedRuns(v), score: leveledScore(v, o).score };
  }
}

/** Level-0 files plus the non-empty deeper levels. */
export function countSortedRuns(v: Version): number { // A
  let n = v.files(0).length;
  for (let level = 1; level < MAX_LEVELS; level++) if (v.files(level).length > 0) n++;
  return n;
}

function totalBytes(v: Version): number { // A
  let n = 0;
  for (let level = 0; level < MAX_LEVELS; level++) n += v.levelSizeBytes(level);
  return n;
}

/** The leading files whose sizes reach `limitBytes` (at least one). */
function prefixUpTo(files: readonly FileMeta[], limitBytes: number): FileMeta[] { // A
  const out: FileMeta[] = [];
  let bytes = 0;
  for (const f of files) {
    out.push(f);
    bytes += f.sizeBytes;
    if (bytes >= limitBytes) break;
  }
  return out;
}
