/** The compaction module's public face: pick a task (per strategy), run it. */
export { pickerFor } from "./picker.ts";
export { ManualCompaction, inputBytes, inputFiles } from "./task.ts";
export type { CompactionInput, CompactionPicker, CompactionReason, CompactionStatus, CompactionTask, KeyRange } from "./task.ts";
export { runCompaction } from "./run.ts";
export type { CompactionContext, CompactionResult, CompactionStats } from "./run.ts";
