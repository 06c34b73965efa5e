/**
 * Options of `openDB`, their validation and the defaults each profile sets.
 * A wrong option is an InvalidArgumentError before anything is opened.
 */
import { InvalidArgumentError } from "../errors.ts";
import type { ClusterLog } from "../log/clusterlog.ts";
import type { FileSystem } from "../platform/fs.ts";
import type { Random } from "../platform/random.ts";

export type Profile = "server" | "mobile" | "background";
export type CompactionStrategy = "leveled" | "tiered" | "mobile";

export interface DBOptions {
  /** Hardware class; sets the defaults below (default "server"). */
  profile?: Profile;
  /** File system to use (default: the runtime's, through node:fs). */
  fs?: FileSystem;
  compaction?: CompactionStrategy;
  /** Values of this many bytes or more go to the value log (default: server 4 KiB, mobile and background 1 KiB). */
  valueThreshold?: number;
  /**
   * Value-log GC: "auto" runs bounded steps in the background after flushes
   * and compactions (server default); "manual" only on gcValueLog() and
   * maintain() (mobile and background default: no work the app did not ask for).
   */
  valueLogGc?: "auto" | "manual";
  memtableBytes?: number;
  cacheBytes?: number;
  /**
   * The engine's memory budget (default: server 1 GiB, mobile 48 MiB,
   * background 16 MiB), split (SPEC.md, "Memory budget") into memtables
   * (the active one and up to two sealed: 3 x memtableBytes), the block
   * cache (cacheBytes), write buffers, open iterators, and the indexes and
   * filters of open tables (the rest). Each part is enforced: writes wait
   * for a flush, the caches evict, iterate() refuses past its share.
   */
  memoryBudgetBytes?: number;
  walMaxBytes?: number;
  vlogFileBytes?: number;
  /** Data block size of SSTables, in bytes before the trailer (default 4096). */
  blockBytes?: number;
  /** Bloom filter bits per key; 0 for no filter (default 10, about 1% false positives). */
  bloomBitsPerKey?: number;
  /** Size at which compaction cuts its output files (default: server 32 MiB, mobile and background 4 MiB). */
  targetFileBytes?: number;
  /** Leveled: level-0 files that start a compaction into level 1 (default 4). */
  l0CompactionTrigger?: number;
  /**
   * Writes stall (wait for compaction) while this many sorted runs sit in
   * level 0 (default: leveled 20, tiered 24). In mobile mode this is the
   * cap that forces a bounded merge step (default 12).
   */
  maxSortedRuns?: number;
  /** Leveled: size of level 1 (default: server 64 MiB, mobile and background 8 MiB); each deeper level is `levelSizeRatio` times bigger. */
  level1Bytes?: number;
  levelSizeRatio?: number;
  /** Tiered: largest allowed space amplification, in percent of the oldest run, before a full merge (default 200). */
  maxSpaceAmplificationPercent?: number;
  /** Open table files kept by the table cache (default: server 1000, mobile 128, background 64; the memory budget bounds their indexes and filters too). */
  tableCacheFiles?: number;
  /** Default durability of writes: fsync before a write resolves (default false). */
  sync?: boolean;
  readOnly?: boolean;
  /** Create the directory if it is missing (default true). */
  createIfMissing?: boolean;
  /** Fail if the database already exists (default false). */
  errorIfExists?: boolean;
  /** Salvage what can be read from damaged logs instead of failing (see SPEC.md, "Recovery"). */
  repair?: boolean;
  /** Where the engine's events go (default: warnings and errors to stderr). */
  log?: ClusterLog;
  /** Source of randomness (log salts); the simulator passes a seeded one (default: seeded from crypto). */
  random?: Random;
}

export interface ResolvedOptions {
  profile: Profile;
  compaction: CompactionStrategy;
  blockBytes: number;
  bloomBitsPerKey: number;
  targetFileBytes: number;
  l0CompactionTrigger: number;
  maxSortedRuns: number;
  level1Bytes: number;
  levelSizeRatio: number;
  maxSpaceAmplificationPercent: number;
  tableCacheFiles: number;
  valueThreshold: number;
  valueLogGc: "auto" | "manual";
  memtableBytes: number;
  cacheBytes: number;
  memoryBudgetBytes: number;
  /** The budget's share for open tables' indexes and filters (what the rest leaves). */
  tableMetaBytes: number;
  /** The budget's share for open iterators. */
  iteratorBytes: number;
  walMaxBytes: number;
  vlogFileBytes: number;
  sync: boolean;
  readOnly: boolean;
  createIfMissing: boolean;
  errorIfExists: boolean;
  repair: boolean;
}

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface ProfileDefaults {
  memoryBudgetBytes: number;
  compaction: CompactionStrategy;
  valueLogGc: "auto" | "manual";
  valueThreshold: number;
  memtableBytes: number;
  cacheBytes: number;
  walMaxBytes: number;
  vlogFileBytes: number;
  targetFileBytes: number;
  level1Bytes: number;
  tableCacheFiles: number;
}

const PROFILE_DEFAULTS: Record<Profile, ProfileDefaults> = {
  server: { memoryBudgetBytes: 1 * GiB, compaction: "leveled", valueLogGc: "auto", valueThreshold: 4096, memtableBytes: 64 * MiB, cacheBytes: 256 * MiB, walMaxBytes: 10 * GiB, vlogFileBytes: 1 * GiB, targetFileBytes: 32 * MiB, level1Bytes: 64 * MiB, tableCacheFiles: 1000 },
  mobile: { memoryBudgetBytes: 48 * MiB, compaction: "mobile", valueLogGc: "manual", valueThreshold: 1024, memtableBytes: 8 * MiB, cacheBytes: 8 * MiB, walMaxBytes: 100 * MiB, vlogFileBytes: 50 * MiB, targetFileBytes: 4 * MiB, level1Bytes: 8 * MiB, tableCacheFiles: 128 },
  background: { memoryBudgetBytes: 16 * MiB, compaction: "mobile", valueLogGc: "manual", valueThreshold: 1024, memtableBytes: 2 * MiB, cacheBytes: 2 * MiB, walMaxBytes: 32 * MiB, vlogFileBytes: 50 * MiB, targetFileBytes: 4 * MiB, level1Bytes: 8 * MiB, tableCacheFiles: 64 },
};

/** Default sorted-run limit per strategy (a stall limit for leveled and tiered, the merge cap for mobile). */
const MAX_SORTED_RUNS: Record<CompactionStrategy, number> = { leveled: 20, tiered: 24, mobile: 12 };

function nonNegativeInt(name: string, v: unknown, fallback: number): number { // A
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw new InvalidArgumentError(`option ${name} must be a non-negative integer, got ${String(v)}`);
  }
  return v;
}

function positiveInt(name: string, v: unknown, fallback: number): number { // A
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v <= 0) {
    throw new InvalidArgumentError(`option ${name} must be a positive integer, got ${String(v)}`);
  }
  return v;
}

function bool(name: string, v: unknown, fallback: boolean): boolean { // A
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new InvalidArgumentError(`option ${name} must be a boolean, got ${typeof v}`);
  return v;
}

function oneOf<T extends string>(name: string, v: unknown, allowed: readonly T[], fallback: T): T { // A
  if (v === undefined) return fallback;
  if (typeof v !== "string" || !allowed.includes(v as T)) {
    throw new InvalidArgumentError(`option ${name} must be one of ${allowed.join(", ")}, got ${String(v)}`);
  }
  return v as T;
}

/** Memtables that may exist at once: the active one and up to this many sealed ones waiting for flush. */
export const MAX_IMMUTABLE_MEMTABLES = 2;
/** The budget's share for write buffers (commit groups of up to 4 MiB, the value-log write buffer). */
const WRITE_BUFFER_SHARE = 1 / 8;
/** The budget's share for open iterators. */
const ITERATOR_SHARE = 1 / 16;

/**
 * Splits the memory budget: memtables and block cache as configured, fixed
 * shares for write buffers and iterators, the rest for open tables'
 * indexes and filters, which must get at least a tenth.
 */
function splitBudget(memoryBudgetBytes: number, memtableBytes: number, cacheBytes: number): { memoryBudgetBytes: number; tableMetaBytes: number; iteratorBytes: number } { // A
  const memtables = (MAX_IMMUTABLE_MEMTABLES + 1) * memtableBytes;
  const iteratorBytes = Math.floor(memoryBudgetBytes * ITERATOR_SHARE);
  const tableMetaBytes = memoryBudgetBytes - memtables - cacheBytes - Math.floor(memoryBudgetBytes * WRITE_BUFFER_SHARE) - iteratorBytes;
  if (tableMetaBytes < memoryBudgetBytes / 10) {
    throw new InvalidArgumentError(
      `memoryBudgetBytes ${memoryBudgetBytes} is too small for ${MAX_IMMUTABLE_MEMTABLES + 1} x memtableBytes (${memtableBytes}) + cacheBytes (${cacheBytes}) ` +
        "plus the shares for write buffers, iterators and table indexes; raise the budget or lower memtableBytes or cacheBytes",
    );
  }
  return { memoryBudgetBytes, tableMetaBytes, iteratorBytes };
}

/** Validates user options and fills in the profile's defaults. */
export function resolveOptions(options: DBOptions): ResolvedOptions { // A
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options must be an object");
  const profile = oneOf("profile", options.profile, ["server", "mobile", "background"] as const, "server");
  const d = PROFILE_DEFAULTS[profile];
  const compaction = oneOf("compaction", options.compaction, ["leveled", "tiered", "mobile"] as const, d.compaction);
  const l0CompactionTrigger = positiveInt("l0CompactionTrigger", options.l0CompactionTrigger, 4);
  const maxSortedRuns = positiveInt("maxSortedRuns", options.maxSortedRuns, Math.max(MAX_SORTED_RUNS[compaction], l0CompactionTrigger + 1));
  if (maxSortedRuns < 2) throw new InvalidArgumentError(`option maxSortedRuns must be at least 2, got ${maxSortedRuns}`);
  const levelSizeRatio = positiveInt("levelSizeRatio", options.levelSizeRatio, 10);
  const memtableBytes = positiveInt("memtableBytes", options.memtableBytes, d.memtableBytes);
  const cacheBytes = positiveInt("cacheBytes", options.cacheBytes, d.cacheBytes);
  const budget = splitBudget(positiveInt("memoryBudgetBytes", options.memoryBudgetBytes, d.memoryBudgetBytes), memtableBytes, cacheBytes);
  if (levelSizeRatio < 2) throw new InvalidArgumentError(`option levelSizeRatio must be at least 2, got ${levelSizeRatio}`);
  return {
    profile,
    compaction,
    blockBytes: positiveInt("blockBytes", options.blockBytes, 4096),
    bloomBitsPerKey: nonNegativeInt("bloomBitsPerKey", options.bloomBitsPerKey, 10),
    targetFileBytes: positiveInt("targetFileBytes", options.targetFileBytes, d.targetFileBytes),
    l0CompactionTrigger,
    maxSortedRuns,
    level1Bytes: positiveInt("level1Bytes", options.level1Bytes, d.level1Bytes),
    levelSizeRatio,
    maxSpaceAmplificationPercent: positiveInt("maxSpaceAmplificationPercent", options.maxSpaceAmplificationPercent, 200),
    tableCacheFiles: positiveInt("tableCacheFiles", options.tableCacheFiles, d.tableCacheFiles),
    valueThreshold: positiveInt("valueThreshold", options.valueThreshold, d.valueThreshold),
    valueLogGc: oneOf("valueLogGc", options.valueLogGc, ["auto", "manual"] as const, d.valueLogGc),
    memtableBytes,
    cacheBytes,
    ...budget,
    walMaxBytes: positiveInt("walMaxBytes", options.walMaxBytes, d.walMaxBytes),
    vlogFileBytes: positiveInt("vlogFileBytes", options.vlogFileBytes, d.vlogFileBytes),
    sync: bool("sync", options.sync, false),
    readOnly: bool("readOnly", options.readOnly, false),
    createIfMissing: bool("createIfMissing", options.createIfMissing, true),
    errorIfExists: bool("errorIfExists", options.errorIfExists, false),
    repair: bool("repair", options.repair, false),
  };
}
