/**
 * Key-range arithmetic over file metadata, shared by the pickers: overlap
 * tests, the level-0 transitive closure, the "bottommost" test, and the
 * construction of a task from chosen inputs. Pure functions of FileMeta;
 * cost O(files) per call, run once per picked task.
 */
import { assert } from "../../errors.ts";
import { MAX_LEVELS, type FileMeta } from "../manifest/version-edit.ts";
import type { Version } from "../manifest/version.ts";
import type { CompactionInput, CompactionReason, CompactionTask, KeyRange } from "./task.ts";

/** Inclusive key span [smallest, largest]. */
export interface Span {
  smallest: string;
  largest: string;
}

/** Whether file f holds a key in the inclusive range (undefined ends unbounded). */
export function overlapsRange(f: FileMeta, r: KeyRange): boolean { // A
  if (r.smallest !== undefined && f.largestKey < r.smallest) return false;
  if (r.largest !== undefined && f.smallestKey > r.largest) return false;
  return true;
}

export function overlapsSpan(f: FileMeta, s: Span): boolean { // A
  return !(f.largestKey < s.smallest || f.smallestKey > s.largest);
}

/** The span of a non-empty list of files. */
export function spanOf(files: readonly FileMeta[]): Span { // A
  assert(files.length > 0, "span of no files");
  let smallest = files[0]!.smallestKey;
  let largest = files[0]!.largestKey;
  for (const f of files) {
    if (f.smallestKey < smallest) smallest = f.smallestKey;
    if (f.largestKey > largest) largest = f.largestKey;
  }
  return { smallest, largest };
}

export function sumBytes(files: readonly FileMeta[]): number { // A
  let n = 0;
  for (const f of files) n += f.sizeBytes;
  return n;
}

/** Files of `level` overlapping span s (in the level's order). */
export function overlapping(v: Version, level: number, s: Span): FileMeta[] { // A
  return v.files(level).filter((f) => overlapsSpan(f, s));
}

/**
 * The level-0 files connected to `seed` through key overlap (the transitive
 * closure): every level-0 file left out shares no key with the result, so
 * moving the result down cannot put it below an older version left in level 0.
 * Bounded: each pass adds a file or stops; at most |L0| passes.
 */
export function level0Closure(v: Version, seed: readonly FileMeta[]): FileMeta[] { // A
  const l0 = v.files(0);
  const chosen = new Set<FileMeta>(seed);
  let span = spanOf(seed);
  for (let pass = 0; pass <= l0.length; pass++) {
    let grew = false;
    for (const f of l0) {
      if (chosen.has(f) || !overlapsSpan(f, span)) continue;
      chosen.add(f);
      if (f.smallestKey < span.smallest) span = { ...span, smallest: f.smallestKey };
      if (f.largestKey > span.largest) span = { ...span, largest: f.largestKey };
      grew = true;
    }
    if (!grew) break;
  }
  return l0.filter((f) => chosen.has(f));
}

/**
 * Whether no file outside the inputs can hold a version older than the
 * inputs for a key in `span`: no overlapping file deeper than the output
 * level, and no overlapping level-0 file outside the inputs older than
 * every level-0 input (an older level-0 run the merge leaves behind).
 */
export function isBottommost(v: Version, inputs: readonly CompactionInput[], outputLevel: number, span: Span): boolean { // A
  for (let level = outputLevel + 1; level < MAX_LEVELS; level++) {
    if (overlapping(v, level, span).length > 0) return false;
  }
  const l0In = inputs.find((i) => i.level === 0)?.files ?? [];
  if (l0In.length === 0) return true;
  const taken = new Set(l0In.map((f) => f.fileNumber));
  let minSeqIn = Number.POSITIVE_INFINITY;
  for (const f of l0In) minSeqIn = Math.min(minSeqIn, f.minSeq);
  return !v.files(0).some((f) => !taken.has(f.fileNumber) && f.maxSeq < minSeqIn && overlapsSpan(f, span));
}

export interface TaskParts {
  reason: CompactionReason;
  inputs: CompactionInput[];
  outputLevel: number;
  targetFileBytes: number | undefined;
  /** Leveled: use grandparents and the overlap cut; also gates trivial moves. */
  grandparentCut?: { maxOverlapBytes: number };
  compactPointer?: { level: number; key: string };
  /** Allow a trivial move when the task is a single file and nothing overlaps it at the output level. */
  allowMove: boolean;
}

/** Builds a task: drops empty inputs, computes grandparents, bottommost and the trivial-move decision. */
export function makeTask(v: Version, p: TaskParts): CompactionTask { // A
  const inputs = p.inputs.filter((i) => i.files.length > 0).sort((a, b) => a.level - b.level);
  const all = inputs.flatMap((i) => i.files);
  assert(all.length > 0, "a compaction task has inputs");
  const span = spanOf(all);
  const gpLevel = p.outputLevel + 1;
  const grandparents = p.grandparentCut !== undefined && gpLevel < MAX_LEVELS ? overlapping(v, gpLevel, span) : [];
  const single = all.length === 1 && inputs[0]!.level !== p.outputLevel;
  const gpOk = p.grandparentCut === undefined || sumBytes(grandparents) <= p.grandparentCut.maxOverlapBytes;
  const trivialMove = p.allowMove && single && gpOk && overlapping(v, p.outputLevel, span).length === 0;
  const task: CompactionTask = {
    reason: p.reason,
    inputs,
    outputLevel: p.outputLevel,
    grandparents,
    bottommost: isBottommost(v, inputs, p.outputLevel, span),
    targetFileBytes: p.targetFileBytes,
    trivialMove,
  };
  if (p.grandparentCut !== undefined) task.maxGrandparentOverlapBytes = p.grandparentCut.maxOverlapBytes;
  if (p.compactPointer !== undefined) task.compactPointer = p.compactPointer;
  return task;
}

/** The deepest level holding a file, or 0 for an empty version. */
export function deepestNonEmptyLevel(v: Version): number { // A
  for (let level = MAX_LEVELS - 1; level > 0; level--) if (v.files(level).length > 0) return level;
  return 0;
}
