/**
 * Engine options of the real-process crash cycles: tiny memtables and
 * tables, so that every cycle's few hundred batches rotate, flush and
 * compact many times on the real file system, under each strategy in turn.
 */
import type { DBOptions } from "../../src/index.ts";

const STRATEGIES = ["leveled", "tiered", "mobile"] as const;

export function crashDbOptions(seed: number): DBOptions { // A
  return {
    compaction: STRATEGIES[seed % STRATEGIES.length]!,
    memtableBytes: 32 * 1024,
    blockBytes: 1024,
    targetFileBytes: 16 * 1024,
    l0CompactionTrigger: 2,
    level1Bytes: 64 * 1024,
    maxSortedRuns: 6,
  };
}
