/**
 * Sorted runs, the unit of tiered and mobile compaction: each level-0 file
 * is a run (newest first, by maxSeq), and each non-empty deeper level is one
 * run of non-overlapping files. Normally only level 0 and the bottom level
 * (MAX_LEVELS-1) hold files; levels 1..5 appear only after a switch from
 * leveled, and are then simply runs older than level 0 and newer than the
 * levels below them.
 *
 * A merge always takes a chain of ADJACENT runs (in this newest-to-oldest
 * order), so the result can take the chain's place without passing over
 * any run it shares keys with: a level-0 output keeps a sequence range that
 * no other level-0 run overlaps.
 */
import { assert } from "../../errors.ts";
import { MAX_LEVELS, type FileMeta } from "../manifest/version-edit.ts";
import type { Version } from "../manifest/version.ts";
import type { ResolvedOptions } from "../options.ts";
import { makeTask, overlapping, overlapsRange, spanOf, sumBytes } from "./ranges.ts";
import type { CompactionInput, CompactionReason, CompactionTask, KeyRange } from "./task.ts";

export const BOTTOM_LEVEL = MAX_LEVELS - 1;

export interface SortedRun {
  level: number;
  files: readonly FileMeta[];
  sizeBytes: number;
  minSeq: number;
}

/** The runs of `v`, newest first. */
export function sortedRuns(v: Version): SortedRun[] { // A
  const runs: SortedRun[] = v.files(0).map((f) => ({ level: 0, files: [f], sizeBytes: f.sizeBytes, minSeq: f.minSeq }));
  for (let level = 1; level < MAX_LEVELS; level++) {
    const files = v.files(level);
    if (files.length === 0) continue;
    let minSeq = Number.POSITIVE_INFINITY;
    for (const f of files) minSeq = Math.min(minSeq, f.minSeq);
    runs.push({ level, files, sizeBytes: sumBytes(files), minSeq });
  }
  return runs;
}

/**
 * The task merging runs[first..last] (inclusive, first is the newest).
 * Output level: the bottom level if the chain reaches the oldest run, else
 * the deepest level in the chain, else level 0 (one output file). Of the
 * output level's own run only the files overlapping the other inputs are
 * taken: the rest share no key with the merge and stay where they are.
 */
export function chainTask( // A
  v: Version,
  o: ResolvedOptions,
  runs: readonly SortedRun[],
  first: number,
  last: number,
  reason: CompactionReason,
  allowMove: boolean,
): CompactionTask {
  assert(first >= 0 && first < last && last < runs.length, "a merge chain has at least two runs");
  const chain = runs.slice(first, last + 1);
  const deepest = chain[chain.length - 1]!.level;
  const outputLevel = last === runs.length - 1 ? BOTTOM_LEVEL : deepest;
  const l0: FileMeta[] = [];
  const inputs: CompactionInput[] = [];
  for (const r of chain) {
    if (r.level === 0) l0.push(...r.files);
    else if (r.level !== outputLevel) inputs.push({ level: r.level, files: r.files });
  }
  if (l0.length > 0) inputs.push({ level: 0, files: l0 });
  if (outputLevel > 0) {
    const others = inputs.flatMap((i) => i.files);
    inputs.push({ level: outputLevel, files: overlapping(v, outputLevel, spanOf(others)) });
  }
  return makeTask(v, { reason, inputs, outputLevel, targetFileBytes: outputLevel === 0 ? undefined : o.targetFileBytes, allowMove });
}

/** Whether any file of the run holds a key in the range. */
export function runOverlaps(r: SortedRun, range: KeyRange): boolean { // A
  return r.files.some((f) => overlapsRange(f, range));
}
