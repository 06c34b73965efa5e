/**
 * Mobile compaction: near-zero background work for phones, where every
 * byte written costs battery and flash wear and a busy event loop janks the
 * UI. Flushed runs simply pile up in level 0; work happens only
 * - when the sorted-run count reaches o.maxSortedRuns (the cap): one bounded
 *   step per pick, until the count is below the cap again;
 * - when the app calls the idle hook (db.maintain()): one bounded step;
 * - on db.compact(range): one merge of the runs overlapping the range into
 *   the bottom level, as for tiered.
 * A bounded step merges a chain of 2..STEP_RUNS_MAX adjacent runs whose
 * input is at most STEP_TARGET_FILES x targetFileBytes, choosing the chain
 * with the fewest bytes per run removed (so the small, recent runs go
 * first; a trivial move costs nothing). At the cap, if no chain fits the
 * budget, the cheapest adjacent pair is merged anyway: the cap is a promise.
 * Writes stall only at twice the cap (the steps cannot keep up).
 * Output rules are those of tiered (runs.ts).
 */
import type { Version } from "../manifest/version.ts";
import type { ResolvedOptions } from "../options.ts";
import { countSortedRuns } from "./leveled.ts";
import { chainTask, sortedRuns, type SortedRun } from "./runs.ts";
import { inputBytes, type CompactionPicker, type CompactionReason, type CompactionStatus, type CompactionTask, type ManualCompaction } from "./task.ts";
import { pickManualRuns } from "./tiered.ts";

/** Most runs one step merges. */
export const STEP_RUNS_MAX = 4;
/** Most input of one step, in target files. */
export const STEP_TARGET_FILES = 4;
/** Writes stall at this multiple of the cap. */
export const STALL_CAP_FACTOR = 2;

function stepCost(t: CompactionTask): number { // A
  return t.trivialMove ? 0 : inputBytes(t);
}

/**
 * The cheapest chain (bytes per run removed) within the step budget; when
 * `forced` and none fits, the cheapest adjacent pair. Cost: at most
 * 3 x runs candidate tasks, each O(files of the output level).
 */
export function boundedStep(v: Version, o: ResolvedOptions, runs: readonly SortedRun[], reason: CompactionReason, forced: boolean): CompactionTask | undefined { // A
  const budget = STEP_TARGET_FILES * o.targetFileBytes;
  let best: { task: CompactionTask; perRun: number } | undefined;
  let cheapestPair: { task: CompactionTask; cost: number } | undefined;
  for (let len = 2; len <= STEP_RUNS_MAX; len++) {
    for (let i = 0; i + len <= runs.length; i++) {
      const task = chainTask(v, o, runs, i, i + len - 1, reason, true);
      const cost = stepCost(task);
      if (len === 2 && (cheapestPair === undefined || cost < cheapestPair.cost)) cheapestPair = { task, cost };
      if (cost > budget) continue;
      const perRun = cost / (len - 1);
      if (best === undefined || perRun < best.perRun) best = { task, perRun };
    }
  }
  return best?.task ?? (forced ? cheapestPair?.task : undefined);
}

export class MobilePicker implements CompactionPicker {
  readonly strategy = "mobile" as const;

  pick(v: Version, o: ResolvedOptions): CompactionTask | undefined { // A
    const runs = sortedRuns(v);
    if (runs.length < o.maxSortedRuns) return undefined;
    return boundedStep(v, o, runs, "run-cap", true);
  }

  pickManual(v: Version, o: ResolvedOptions, m: ManualCompaction): CompactionTask | undefined { // A
    return pickManualRuns(v, o, m);
  }

  pickIdle(v: Version, o: ResolvedOptions): CompactionTask | undefined { // A
    const runs = sortedRuns(v);
    if (runs.length < 2) return undefined;
    return boundedStep(v, o, runs, "idle", false);
  }

  mustStall(v: Version, o: ResolvedOptions): boolean { // A
    return countSortedRuns(v) >= STALL_CAP_FACTOR * o.maxSortedRuns;
  }

  status(v: Version, o: ResolvedOptions): CompactionStatus { // A
    const sortedRunCount = countSortedRuns(v);
    return { sortedRuns: sortedRunCount, score: sortedRunCount / o.maxSortedRuns };
  }
}
