/**
 * The one door to the compaction strategies: `pickerFor(o.compaction)`
 * returns the picker the engine schedules with. Pickers are stateless (the
 * round-robin pointers live in the version set, a manual compaction's
 * cursor in its ManualCompaction), so one instance serves every database.
 */
import type { CompactionStrategy } from "../options.ts";
import { LeveledPicker } from "./leveled.ts";
import { MobilePicker } from "./mobile.ts";
import type { CompactionPicker } from "./task.ts";
import { TieredPicker } from "./tiered.ts";

const PICKERS: Record<CompactionStrategy, CompactionPicker> = {
  leveled: new LeveledPicker(),
  tiered: new TieredPicker(),
  mobile: new MobilePicker(),
};

export function pickerFor(strategy: CompactionStrategy): CompactionPicker { // A
  return PICKERS[strategy];
}
