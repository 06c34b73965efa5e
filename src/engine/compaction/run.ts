/**
 * Runs one compaction task: merges the inputs' versions in table order,
 * keeps what some reader can still see (drop-rule.ts), writes the rest
 * through TableOutputs (cut at the target size and at grandparent overlap)
 * and returns the version edit that swaps inputs for outputs and carries
 * the value-log discard deltas of the pointer versions it dropped.
 *
 * The caller owns the rest of the protocol: logAndApply(edit), then
 * outputs.releasePending(), then the removal of obsolete inputs. On any
 * failure here the outputs are abandoned (files removed, pending released)
 * and the error is rethrown; every table acquired is released either way.
 *
 * The merge works in slices: after every `yieldEvery` entries it awaits
 * ctx.pause() (the platform's yield), so a large compaction never holds the
 * event loop for more than one slice (~1 us per entry: 1000 entries ~ 1 ms),
 * and checks ctx.isCancelled() (the database is closing) at each pause.
 *
 * Cost sketch: reading and writing every input byte once (sequential
 * positional I/O), ~1-2 us of CPU per entry for decode, merge and encode,
 * one fsync per output file and one of the directory. A trivial move does
 * no I/O at all: the edit names the same file at the next level.
 */
import { assert, ClosedError, CorruptionError } from "../../errors.ts";
import type { TableCache } from "../cache/table-cache.ts";
import type { AddedFile, DeletedFile, VersionEdit, VlogDiscard } from "../manifest/version-edit.ts";
import { MAX_LEVELS } from "../manifest/version-edit.ts";
import { TableOutputs, type TableOutputContext } from "../sstable/table-output.ts";
import type { TableReader } from "../sstable/table-reader.ts";
import { DiscardCounter, VersionFilter } from "./drop-rule.ts";
import { FilesSource, MergedEntries } from "./merge.ts";
import { inputBytes, inputFiles, type CompactionTask } from "./task.ts";

export interface CompactionContext extends TableOutputContext {
  /** Input readers are acquired here and released when read. */
  tables: TableCache<TableReader>;
  /** Live snapshot sequence numbers, ascending, taken when the task starts. */
  snapshots: readonly number[];
  /** Entries merged between awaits of pause(). */
  yieldEvery: number;
  /** The platform's yield to the event loop (tests may pass () => Promise.resolve()). */
  pause: () => Promise<void>;
  /** True once the database is closing: the task abandons its outputs and throws ClosedError. */
  isCancelled?: () => boolean;
}

export interface CompactionStats {
  inputFiles: number;
  inputBytes: number;
  outputFiles: number;
  outputBytes: number;
  entriesIn: number;
  entriesOut: number;
  dropped: number;
  /** Value-log record bytes the dropped pointer versions held (the edit's vlogDiscard, summed). */
  vlogDiscardBytes: number;
}

export interface CompactionResult {
  edit: VersionEdit;
  /** The caller calls releasePending() once the edit is durable. */
  outputs: TableOutputs;
  stats: CompactionStats;
}

function checkTask(task: CompactionTask, ctx: CompactionContext): void { // PA
  assert(task.outputLevel >= 0 && task.outputLevel < MAX_LEVELS, "compaction output level in range");
  assert(task.inputs.length > 0 && task.inputs.every((i) => i.files.length > 0), "compaction inputs are non-empty");
  for (const i of task.inputs) assert(i.level <= task.outputLevel, "a compaction never moves data up a level");
  assert(!task.trivialMove || inputFiles(task).length === 1, "a trivial move moves exactly one file");
  assert(Number.isSafeInteger(ctx.yieldEvery) && ctx.yieldEvery > 0, "yieldEvery is a positive integer");
  for (let i = 1; i < ctx.snapshots.length; i++) assert(ctx.snapshots[i - 1]! <= ctx.snapshots[i]!, "snapshots ascending");
}

function deletedOf(task: CompactionTask): DeletedFile[] { // A
  return task.inputs.flatMap((i) => i.files.map((f) => ({ level: i.level, fileNumber: f.fileNumber })));
}

function editOf(task: CompactionTask, added: AddedFile[], discard?: DiscardCounter): VersionEdit { // A
  const edit: { added: AddedFile[]; deleted: DeletedFile[]; compactPointers?: { level: number; key: string }[]; vlogDiscard?: VlogDiscard[] } = {
    added, deleted: deletedOf(task),
  };
  if (task.compactPointer !== undefined) edit.compactPointers = [task.compactPointer];
  const deltas = discard?.deltas();
  if (deltas !== undefined) edit.vlogDiscard = deltas;
  return edit;
}

function checkCancelled(ctx: CompactionContext): void { // A
  if (ctx.isCancelled?.() === true) throw new ClosedError("database (compaction cancelled)");
}

/** Executes `task`; see the module comment for the caller's part. */
export async function runCompaction(task: CompactionTask, ctx: CompactionContext): Promise<CompactionResult> { // PA
  checkTask(task, ctx);
  checkCancelled(ctx);
  const files = inputFiles(task);
  const stats: CompactionStats = {
    inputFiles: files.length, inputBytes: inputBytes(task), outputFiles: 0, outputBytes: 0, entriesIn: 0, entriesOut: 0, dropped: 0, vlogDiscardBytes: 0,
  };
  const outputs = new TableOutputs(ctx, {
    level: task.outputLevel,
    ...(task.targetFileBytes !== undefined ? { targetFileBytes: task.targetFileBytes } : {}),
    grandparents: task.grandparents,
    ...(task.maxGrandparentOverlapBytes !== undefined ? { maxGrandparentOverlapBytes: task.maxGrandparentOverlapBytes } : {}),
  });
  if (task.trivialMove) {
    const f = files[0]!;
    await outputs.finish();
    return { edit: editOf(task, [{ ...f, level: task.outputLevel }]), outputs, stats };
  }
  // One source per level-0 file (they overlap), one per deeper level (its files are disjoint and sorted).
  const sources = task.inputs.flatMap((i) => (i.level === 0 ? i.files.map((f) => new FilesSource(0, [f], ctx.tables)) : [new FilesSource(i.level, i.files, ctx.tables)]));
  let merged: MergedEntries | undefined;
  const discard = new DiscardCounter(() => merged?.lastSource?.where() ?? "compaction inputs"); // A
  try {
    // Inside the try: building the merge reads the first entry of every source, which may throw.
    merged = new MergedEntries(sources);
    await mergeInto(merged, task, ctx, outputs, stats, discard);
    for (const s of sources) s.close();
    const added = await outputs.finish();
    stats.outputFiles = added.length;
    stats.outputBytes = outputs.bytesWritten;
    stats.vlogDiscardBytes = discard.totalBytes;
    return { edit: editOf(task, added, discard), outputs, stats };
  } catch (e) {
    outputs.abandon();
    throw e;
  } finally {
    for (const s of sources) s.close();
  }
}

/** The merge loop: every input entry once, in table order, through the drop rule into the outputs (dropped pointers counted in `discard`). */
async function mergeInto( // PA
  merged: MergedEntries, task: CompactionTask, ctx: CompactionContext, outputs: TableOutputs, stats: CompactionStats, discard: DiscardCounter,
): Promise<void> {
  const filter = new VersionFilter(ctx.snapshots, task.bottommost);
  let prevKey: string | undefined;
  let prevSeq = 0;
  let sinceYield = 0;
  // Every entry takes at least one byte of its file: the input size bounds the loop.
  const entriesMax = stats.inputBytes + 1;
  for (let n = 0; ; n++) {
    const e = merged.next();
    if (e === undefined) break;
    if (n >= entriesMax) throw new CorruptionError(`compaction inputs yield more entries than their ${stats.inputBytes} bytes can hold`);
    if (e.key === prevKey && e.seq >= prevSeq) {
      throw new CorruptionError(`two versions of one key with sequence ${e.seq} in the compaction inputs (one in ${merged.lastSource?.where() ?? "?"})`);
    }
    prevKey = e.key;
    prevSeq = e.seq;
    stats.entriesIn++;
    if (filter.keep(e.key, e.seq, e.kind)) {
      outputs.add(e.key, filter.outputSeq(e.seq), e.kind, e.value);
      stats.entriesOut++;
    } else {
      stats.dropped++;
      discard.dropped(e.kind, e.seq, e.value);
    }
    if (++sinceYield >= ctx.yieldEvery) {
      sinceYield = 0;
      await ctx.pause();
      checkCancelled(ctx);
    }
  }
}
