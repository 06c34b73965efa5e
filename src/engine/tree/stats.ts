/**
 * The tree's part of `db.stats()`: files and bytes per level, sorted runs,
 * background-work counters, write amplification and cache figures. O(files)
 * per call; meant for monitoring, not for a hot loop.
 */
import { listDbFiles } from "../files.ts";
import type { Tree } from "./tree.ts";

export interface LevelStats {
  level: number;
  files: number;
  bytes: number;
}

export interface TreeStats {
  /** Immutable memtables waiting for flush. */
  immutableMemtables: number;
  memtableBytes: number;
  memtableKeys: number;
  memtableVersions: number;
  /** Logs the tree still needs: the active one and those of memtables waiting for flush. */
  walFiles: number;
  /** Per level: table files and bytes. */
  levels: LevelStats[];
  /** Level-0 files plus non-empty deeper levels: the sources a read may visit. */
  sortedRuns: number;
  /** Bytes in table files. */
  tableBytes: number;
  /** (WAL + flush + compaction bytes written) / WAL bytes written, since open; 0 before any write. */
  writeAmplification: number;
  /** Memtables sealed, and flushed, since open. */
  memtableRotations: number;
  flushes: number;
  compactions: number;
  trivialMoves: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  writeStalls: number;
  /** A background flush or compaction failed and nothing has succeeded since (its message), or undefined. */
  backgroundError: string | undefined;
  blockCache: { capacityBytes: number; usedBytes: number; hitRate: number; hits: number; misses: number };
  tableCache: { capacity: number; open: number; hits: number; misses: number; bytes: number; maxBytes: number };
}

/** `walBytesWritten` is what the committer appended since open (user bytes plus framing). */
export function treeStats(tree: Tree, walBytesWritten: number): TreeStats { // A
  const rs = tree.readState;
  const v = rs.version;
  const levels: LevelStats[] = v.levels.map((files, level) => ({ level, files: files.length, bytes: v.levelSizeBytes(level) }));
  const w = tree.worker.counters;
  const written = walBytesWritten + tree.counters.flushBytes + w.compactionBytesWritten;
  const bc = tree.blockCache.stats();
  const tc = tree.tables.stats();
  return {
    immutableMemtables: rs.imms.length,
    memtableBytes: rs.mem.sizeBytes,
    memtableKeys: rs.mem.keyCount,
    memtableVersions: rs.mem.versionCount,
    walFiles: logsInUse(tree),
    levels,
    sortedRuns: tree.worker.picker.status(v, tree.options).sortedRuns,
    tableBytes: levels.reduce((n, l) => n + l.bytes, 0),
    writeAmplification: walBytesWritten === 0 ? 0 : written / walBytesWritten,
    memtableRotations: tree.counters.rotations,
    flushes: tree.counters.flushes,
    compactions: w.compactions,
    trivialMoves: w.trivialMoves,
    compactionBytesRead: w.compactionBytesRead,
    compactionBytesWritten: w.compactionBytesWritten,
    writeStalls: tree.counters.stalls,
    backgroundError: tree.worker.lastError === undefined ? undefined : String(tree.worker.lastError),
    blockCache: { capacityBytes: bc.capacityBytes, usedBytes: bc.bytes, hitRate: bc.hits + bc.misses === 0 ? 0 : bc.hits / (bc.hits + bc.misses), hits: bc.hits, misses: bc.misses },
    tableCache: { capacity: tc.capacity, open: tc.entries, hits: tc.hits, misses: tc.misses, bytes: tc.bytes, maxBytes: tc.maxBytes },
  };
}

/** Logs the manifest still needs (numbered at or above its log number); 0 if the directory cannot be listed. */
function logsInUse(tree: Tree): number { // A
  try {
    return listDbFiles(tree.fs, tree.dir).logs.filter((n) => n >= tree.vs.logNumber).length;
  } catch {
    return 0;
  }
}
