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

const PROFILE_DEFAULTS: Record<Profile, Omit<ResolvedOptions, "profile" | "sync" | "readOnly" | "createIfMissing" | "errorIfExists" | "repair">> = {
  server: { compaction: "leveled", valueThreshold: 4096, memtableBytes: 64 * MiB, cacheBytes: 256 * MiB, walMaxBytes: 10 * GiB, vlogFileBytes: 1 * GiB },
  mobile: { compaction: "mobile", valueThreshold: 1024, memtableBytes: 8 * MiB, cacheBytes: 16 * MiB, walMaxBytes: 100 * MiB, vlogFileBytes: 50 * MiB },
  background: { compaction: "mobile", valueThreshold: 1024, memtableBytes: 4 * MiB, cacheBytes: 4 * MiB, walMaxBytes: 32 * MiB, vlogFileBytes: 50 * MiB },
};

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
  return {
    profile,
    compaction: oneOf("compaction", options.compaction, ["leveled", "tiered", "mobile"] as const, d.compaction),
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
