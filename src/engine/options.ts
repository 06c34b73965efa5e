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
  /** Values of this many bytes or more go to the value log (used from the value-log issue on). */
  valueThreshold?: number;
  memtableBytes?: number;
  cacheBytes?: number;
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
  /** Open table files kept by the table cache (default: server 1000, mobile 64, background 16). */
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
  memtableBytes: number;
  cacheBytes: number;
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
  compaction: CompactionStrategy;
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
  server: { compaction: "leveled", valueThreshold: 4096, memtableBytes: 64 * MiB, cacheBytes: 256 * MiB, walMaxBytes: 10 * GiB, vlogFileBytes: 1 * GiB, targetFileBytes: 32 * MiB, level1Bytes: 64 * MiB, tableCacheFiles: 1000 },
  mobile: { compaction: "mobile", valueThreshold: 1024, memtableBytes: 8 * MiB, cacheBytes: 16 * MiB, walMaxBytes: 100 * MiB, vlogFileBytes: 50 * MiB, targetFileBytes: 4 * MiB, level1Bytes: 8 * MiB, tableCacheFiles: 64 },
  background: { compaction: "mobile", valueThreshold: 1024, memtableBytes: 4 * MiB, cacheBytes: 4 * MiB, walMaxBytes: 32 * MiB, vlogFileBytes: 50 * MiB, targetFileBytes: 4 * MiB, level1Bytes: 8 * MiB, tableCacheFiles: 16 },
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
    memtableBytes: positiveInt("memtableBytes", options.memtableBytes, d.memtableBytes),
    cacheBytes: positiveInt("cacheBytes", options.cacheBytes, d.cacheBytes),
    walMaxBytes: positiveInt("walMaxBytes", options.walMaxBytes, d.walMaxBytes),
    vlogFileBytes: positiveInt("vlogFileBytes", options.vlogFileBytes, d.vlogFileBytes),
    sync: bool("sync", options.sync, false),
    readOnly: bool("readOnly", options.readOnly, false),
    createIfMissing: bool("createIfMissing", options.createIfMissing, true),
    errorIfExists: bool("errorIfExists", options.errorIfExists, false),
    repair: bool("repair", options.repair, false),
  };
}
