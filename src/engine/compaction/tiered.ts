/**
 * Tiered compaction (universal-style, after RocksDB's universal compaction):
 * data is a list of sorted runs (runs.ts) and a merge rewrites a few
 * adjacent runs of similar size into one. Each byte is rewritten about
 * log(total / flush size) times instead of levelSizeRatio times per level,
 * at the price of more runs to read and up to maxSpaceAmplificationPercent
 * of extra space.
 *
 * When the run count reaches l0CompactionTrigger, in this order:
 * 1. space amplification: if the runs newer than the oldest hold more than
 *    maxSpaceAmplificationPercent of the oldest run's bytes, merge all runs
 *    into the bottom level (it bounds the space obsolete versions can take);
 * 2. size ratio: the longest chain (at least 2) of adjacent runs where each
 *    next older run is at most (100 + SIZE_RATIO_PERCENT)% of the chain so
 *    far; the newest such chain on a tie;
 * 3. run count: if no such chain exists, merge the newest runs so that
 *    l0CompactionTrigger - 1 runs remain.
 * Every choice is a chain of adjacent runs; output rules are in runs.ts.
 */
import type { Version } from "../manifest/version.ts";
import type { ResolvedOptions } from "../options.ts";
import { countSortedRuns } from "./leveled.ts";
import { chainTask, runOverlaps, sortedRuns, type SortedRun } from "./runs.ts";
import type { CompactionPicker, CompactionStatus, CompactionTask, ManualCompaction } from "./task.ts";

/** How much bigger (in percent) the next run may be than the chain so far and still join it. */
export const SIZE_RATIO_PERCENT = 1;

/** The longest chain of similar-size adjacent runs, or undefined when none has 2 runs. */
export function similarSizeChain(runs: readonly SortedRun[], ratioPercent: number): { first: number; last: number } | undefined { // A
  let best: { first: number; last: number } | undefined;
  for (let i = 0; i + 1 < runs.length; i++) {
    let acc = runs[i]!.sizeBytes;
    let j = i + 1;
    while (j < runs.length && runs[j]!.sizeBytes * 100 <= acc * (100 + ratioPercent)) acc += runs[j++]!.sizeBytes;
    if (j - 1 > i && (best === undefined || j - 1 - i > best.last - best.first)) best = { first: i, last: j - 1 };
  }
  return best;
}

/** Whether the runs newer than the oldest exceed the allowed share of it. */
export function spaceAmpExceeded(runs: readonly SortedRun[], o: ResolvedOptions): boolean { // A
  if (runs.length < 2) return false;
  const oldest = runs[runs.length - 1]!.sizeBytes;
  let newer = 0;
  for (let i = 0; i + 1 < runs.length; i++) newer += runs[i]!.sizeBytes;
  return newer * 100 > o.maxSpaceAmplificationPercent * oldest;
}

/**
 * Manual compaction for run-based strategies: one merge of the chain from
 * the newest run that overlaps the range (among runs that existed when the
 * compaction started) down to the oldest, into the bottom level. Runs newer
 * than that chain stay in level 0; being newer, they may stay above it.
 */
export function pickManualRuns(v: Version, o: ResolvedOptions, m: ManualCompaction): CompactionTask | undefined { // A
  if (m.done) return undefined;
  m.done = true;
  const runs = sortedRuns(v);
  let seqMax = 0;
  for (const r of runs) for (const f of r.files) seqMax = Math.max(seqMax, f.maxSeq);
  m.seqLimit ??= seqMax;
  const limit = m.seqLimit;
  const first = runs.findIndex((r) => r.minSeq <= limit && runOverlaps(r, m.range));
  if (first < 0 || first === runs.length - 1) return undefined;
  return chainTask(v, o, runs, first, runs.length - 1, "manual", false);
}

export class TieredPicker implements CompactionPicker {
  readonly strategy = "tiered" as const;

  pick(v: Version, o: ResolvedOptions): CompactionTask | undefined { // A
    const runs = sortedRuns(v);
    const n = runs.length;
    if (n < Math.max(2, o.l0CompactionTrigger)) return undefined;
    if (spaceAmpExceeded(runs, o)) return chainTask(v, o, runs, 0, n - 1, "space-amp", true);
    const c = similarSizeChain(runs, SIZE_RATIO_PERCENT);
    if (c !== undefined) return chainTask(v, o, runs, c.first, c.last, "size-ratio", true);
    const take = n - o.l0CompactionTrigger + 2;
    return chainTask(v, o, runs, 0, Math.min(n, Math.max(2, take)) - 1, "run-count", true);
  }

  pickManual(v: Version, o: ResolvedOptions, m: ManualCompaction): CompactionTask | undefined { // A
    return pickManualRuns(v, o, m);
  }

  pickIdle(v: Version, o: ResolvedOptions): CompactionTask | undefined { // A
    return this.pick(v, o);
  }

  mustStall(v: Version, o: ResolvedOptions): boolean { // A
    return v.files(0).length >= o.maxSortedRuns;
  }

  status(v: Version, o: ResolvedOptions): CompactionStatus { // A
    return { sortedRuns: countSortedRuns(v), score: countSortedRuns(v) / Math.max(2, o.l0CompactionTrigger) };
  }
}
