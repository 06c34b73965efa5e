/**
 * OuroborosDB's public face: `openDB` (the storage engine), `openStore` (the
 * versioned store on top of it) and the types and
 * errors a user needs. See ../shared/API.md for the contract and SPEC.md
 * for every byte format.
 */
export { openDB, DB } from "./engine/db.ts";
export { Store } from "./versioned/store.ts";
export { openStore, type StoreOptions } from "./versioned/open-store.ts";
export type { Version, Entry, IngestItem, IngestReport, PrunePolicy, PruneReport, StoreVerifyOptions, StoreVerifyReport } from "./versioned/store.ts";
export type { DBStats, ReadOptions, WriteOptions } from "./engine/db.ts";
export { WriteBatch, MAX_KEY_BYTES, MAX_VALUE_BYTES, MAX_BATCH_BYTES } from "./engine/write-batch.ts";
export type { DBOptions, Profile, CompactionStrategy } from "./engine/options.ts";
export type { IterateOptions, DBIterator } from "./engine/db-iterator.ts";
export { Snapshot } from "./engine/snapshot.ts";
export type { VerifyReport, FileVerifyReport } from "./engine/verify.ts";
export * from "./errors.ts";
export type { FileSystem, FileHandle, FileLock, FileStat, OpenOptions } from "./platform/fs.ts";
export { MemFileSystem } from "./platform/mem-fs.ts";
export { FaultFileSystem } from "./platform/fault-fs.ts";
export { NodeFileSystem } from "./platform/node-fs.ts";
export { SystemClock, VirtualClock, type Clock } from "./platform/clock.ts";
export { SeededRandom, systemRandom, type Random } from "./platform/random.ts";
export { createLog, silentLog, ClusterLog } from "./log/clusterlog.ts";
export type { LogRecord, LogLevel, LogSink } from "./log/clusterlog.ts";
