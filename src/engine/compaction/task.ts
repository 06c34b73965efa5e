/**
 * Compaction tasks and the picker interface behind which the three
 * strategies (leveled, tiered, mobile) sit.
 *
 * A picker only looks at a Version (file metadata, no I/O) and says which
 * files to merge and where the result goes; run.ts does the merge. Keeping
 * the choice pure makes every strategy testable on hand-built versions and
 * keeps the policy in one place per strategy.
 *
 * The one rule every strategy keeps: for any user key, a source read
 * earlier (level 0 newest first, then level 1, 2, ...) holds only newer
 * versions than a source read later. A task never moves data above older
 * data of the same key, so the read path stays "first hit wins".
 */
import type { CompactPointer, FileMeta } from "../manifest/version-edit.ts";
import type { Version } from "../manifest/version.ts";
import type { ResolvedOptions } from "../options.ts";

export interface CompactionInput {
  level: number;
  files: readonly FileMeta[];
}

export type CompactionReason =
  | "l0-trigger"
  | "level-size"
  | "size-ratio"
  | "space-amp"
  | "run-count"
  | "run-cap"
  | "manual"
  | "idle";

export interface CompactionTask {
  reason: CompactionReason;
  /** Every input file with its level (one entry per level, levels ascending). */
  inputs: CompactionInput[];
  outputLevel: number;
  /** Files of outputLevel + 1 overlapping the inputs (leveled), else []. */
  grandparents: readonly FileMeta[];
  /** No data older than the inputs exists for their key range outside the inputs: tombstones may be dropped. */
  bottommost: boolean;
  /** Cut outputs at this size; undefined writes one output file (a tiered merge into level 0). */
  targetFileBytes: number | undefined;
  maxGrandparentOverlapBytes?: number;
  /** To record in the edit (leveled round robin). */
  compactPointer?: CompactPointer;
  /** A single file moved to outputLevel without rewriting it. */
  trivialMove: boolean;
}

/** An inclusive range of engine (latin1) keys; an undefined end is unbounded. */
export interface KeyRange {
  smallest?: string;
  largest?: string;
}

/** Sorted runs and how urgent background work is (for stats and scheduling). */
export interface CompactionStatus {
  /** Level-0 files plus non-empty deeper levels: the sources a read may visit. */
  sortedRuns: number;
  /** >= 1 when the strategy's background work is due. */
  score: number;
}

/**
 * The cursor of one `db.compact(range)`: created by the lead, passed to
 * every `pickManual` call, changed only by the picker. It keeps the level
 * reached and a step budget, so the sequence of tasks ends even if writes
 * and background compactions go on meanwhile.
 */
export class ManualCompaction {
  readonly range: KeyRange;
  /** Leveled: the level whose files move down next. */
  level = 0;
  /** Steps still allowed; set on the first pick from the file count then. */
  stepsLeft: number | undefined = undefined;
  /** Tiered/mobile: the newest sequence number the compaction covers (files flushed later are left alone). */
  seqLimit: number | undefined = undefined;
  done = false;

  constructor(range: KeyRange = {}) { // A
    this.range = { ...range };
  }
}

export interface CompactionPicker {
  readonly strategy: "leveled" | "tiered" | "mobile";
  /** The next background task, or undefined when none is due. `pointer` is VersionSet.compactPointer. */
  pick(v: Version, o: ResolvedOptions, pointer: (level: number) => string | undefined): CompactionTask | undefined;
  /**
   * The next task of a manual compaction, or undefined when it is complete.
   * Call repeatedly with the same `m`, each time with the version after the
   * previous task was applied; the sequence always ends.
   */
  pickManual(v: Version, o: ResolvedOptions, m: ManualCompaction): CompactionTask | undefined;
  /** A bounded step for the idle hook (db.maintain()); undefined when nothing is worth doing. */
  pickIdle(v: Version, o: ResolvedOptions): CompactionTask | undefined;
  /** Whether writes must wait for compaction before adding another level-0 file. */
  mustStall(v: Version, o: ResolvedOptions): boolean;
  status(v: Version, o: ResolvedOptions): CompactionStatus;
}

/** All input files, flattened. */
export function inputFiles(task: CompactionTask): FileMeta[] { // A
  const out: FileMeta[] = [];
  for (const i of task.inputs) out.push(...i.files);
  return out;
}

/** Sum of the input files' sizes. */
export function inputBytes(task: CompactionTask): number { // A
  let n = 0;
  for (const i of task.inputs) for (const f of i.files) n += f.sizeBytes;
  return n;
}
