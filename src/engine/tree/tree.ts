/**
 * The LSM tree's moving parts behind the DB: the read state (memtable,
 * immutable memtables, table files), memtable rotation between commit
 * groups, background flush and compaction, write stalls, and removal of
 * obsolete files. db.ts owns the public API and hands writes to the
 * committer; everything that changes the shape of the tree happens here.
 *
 * Ordering rules (each keeps acknowledged writes recoverable at every crash point):
 * - Rotation runs between commit groups (Committer.exclusive or the gate):
 *   the old log is fsynced before any write goes to the new one, so a
 *   synced write in the new log never survives without the writes before it.
 * - Flush goes oldest immutable first. Its table is written and fsynced
 *   (with the directory) before the edit that names it, and the edit moves
 *   the log number past the flushed memtable's logs before they are removed.
 * - A compaction's outputs are durable before the edit that swaps them for
 *   the inputs; inputs are removed only once no version uses them.
 * - Files are removed only when neither the current version, an older one
 *   still referenced (open iterators), nor a job in progress needs them.
 *
 * Background work is one async loop (flush first, then compaction), which
 * awaits a yield to the event loop every slice of entries so the
 * application keeps running.
 */
import { ClosedError } from "../../errors.ts";
import type { ClusterLog } from "../../log/clusterlog.ts";
import { joinPath, type FileSystem } from "../../platform/fs.ts";
import type { Random } from "../../platform/random.ts";
import { yieldToEventLoop } from "../../platform/yield.ts";
import { BlockCache } from "../cache/block-cache.ts";
import { TableCache } from "../cache/table-cache.ts";
import type { Committer } from "../committer.ts";
import { listDbFiles } from "../files.ts";
import { manifestFileName } from "../manifest/manifest-format.ts";
import type { VersionSet } from "../manifest/version-set.ts";
import type { MemEntry } from "../cursor.ts";
import { MemTable } from "../memtable/memtable.ts";
import { MAX_IMMUTABLE_MEMTABLES, type ResolvedOptions } from "../options.ts";
import type { SnapshotList } from "../snapshot.ts";
import { tableFileName } from "../sstable/format.ts";
import { TableOutputs, type TableOutputContext } from "../sstable/table-output.ts";
import { DiscardCounter, VersionFilter } from "../compaction/drop-rule.ts";
import type { BlockReader } from "../sstable/block-reader.ts";
import { TableReader } from "../sstable/table-reader.ts";
import { walFileName } from "../wal/format.ts";
import { WalWriter } from "../wal/writer.ts";
import type { ValueLog } from "../value-log.ts";
import { getFrom, openCursor, type ReadState, type SealedMemTable, type TreeCursor } from "./read-state.ts";
import { Worker, type WorkerHost } from "./worker.ts";

/** Sealed memtables allowed to wait for flush before writes stall (the memory budget counts on it). */
const MAX_IMMUTABLES = MAX_IMMUTABLE_MEMTABLES;
/** Versions written between yields to the event loop during a flush (~2 ms of work). */
const FLUSH_SLICE_ENTRIES = 2048;

export interface TreeDeps {
  fs: FileSystem;
  dir: string;
  options: ResolvedOptions;
  log: ClusterLog;
  random: Random;
  vs: VersionSet;
  snapshots: SnapshotList;
  mem: MemTable;
  wal: WalWriter | undefined;
  /** The value log, if the database writes one: rotation makes it durable before sealing a memtable. */
  values?: ValueLog | undefined;
}

export interface TreeCounters {
  flushes: number;
  /** Bytes of tables written by flush. */
  flushBytes: number;
  rotations: number;
  stalls: number;
}

export class Tree implements WorkerHost {
  readonly fs: FileSystem;
  readonly dir: string;
  readonly options: ResolvedOptions;
  readonly log: ClusterLog;
  readonly vs: VersionSet;
  readonly snapshots: SnapshotList;
  readonly blockCache: BlockCache<BlockReader>;
  readonly tables: TableCache<TableReader>;
  /** Table numbers being written (flush or compaction outputs not yet in a durable edit). */
  readonly pending = new Set<number>();
  readonly counters: TreeCounters = { flushes: 0, flushBytes: 0, rotations: 0, stalls: 0 };
  readonly worker: Worker;
  private rs: ReadState;
  private wal: WalWriter | undefined;
  private committer: Committer | undefined = undefined;
  private readonly random: Random;
  /** The value log (reads resolve pointers through it; rotation syncs it). */
  readonly values: ValueLog | undefined;
  /** Called after each flush or compaction published a new version (the database hangs value-log GC here). */
  onPublish: (() => void) | undefined = undefined;
  private closed = false;
  /** Whether the strategy says writes must wait; recomputed whenever the version changes (the gate runs per group). */
  private stallNeeded = false;

  constructor(d: TreeDeps) { // A
    this.fs = d.fs;
    this.dir = d.dir;
    this.options = d.options;
    this.log = d.log;
    this.vs = d.vs;
    this.snapshots = d.snapshots;
    this.random = d.random;
    this.wal = d.wal;
    this.values = d.values;
    this.blockCache = new BlockCache<BlockReader>(d.options.cacheBytes);
    this.tables = new TableCache<TableReader>(d.options.tableCacheFiles, (n) => // A
      TableReader.open(this.fs, joinPath(this.dir, tableFileName(n)), n, this.blockCache), d.options.tableMetaBytes);
    // The read state holds its own reference on its version: the version set
    // drops the old current version inside logAndApply, before the tree publishes.
    this.rs = Object.freeze({ mem: d.mem, imms: [], version: d.vs.current().ref() });
    this.worker = new Worker(this);
    this.stallNeeded = this.worker.mustStall();
  }

  /** Connects the committer (after construction: the committer's gate is this tree's). */
  attach(committer: Committer): void { // A
    this.committer = committer;
  }

  get readState(): ReadState { // A
    return this.rs;
  }

  get activeWal(): WalWriter | undefined { // A
    return this.wal;
  }

  /** The newest version of key at seq (a delete has kind 0), or undefined. */
  get(key: string, seq: number): MemEntry | undefined { // A
    return getFrom(this.rs, this.tables, key, seq);
  }

  cursor(): TreeCursor { // A
    return openCursor(this.rs, this.tables);
  }

  /**
   * The committer's gate, before every group: rotates a full memtable, or,
   * if too much already waits for flush (MAX_IMMUTABLES sealed memtables)
   * or for compaction (the strategy's sorted-run limit), makes the group
   * wait until the background work makes room. Cost when the memtable has
   * room: one comparison.
   */
  gate(): Promise<void> | undefined { // A
    // As in LevelDB, a full L0 stops writes only once the memtable is full too.
    const mem = this.rs.mem;
    // Up to MAX_IMMUTABLES + 1 logs are live (the active one and one per sealed memtable),
    // so each may take a third of walMaxBytes: together they never pass it.
    const walFull = (this.wal?.size ?? 0) >= this.options.walMaxBytes / (MAX_IMMUTABLES + 1);
    if (mem.sizeBytes + mem.valueLogBytes < this.options.memtableBytes && !walFull) return undefined;
    if (this.rs.imms.length >= MAX_IMMUTABLES || this.stallNeeded) {
      this.counters.stalls++;
      this.log.debug("write.stall", { immutables: this.rs.imms.length, stalled: this.stallNeeded });
      return this.worker.runUntil(() => this.rs.imms.length < MAX_IMMUTABLES && !this.stallNeeded); // A
    }
    return this.rotate();
  }

  /** Seals the active memtable if it holds anything (between groups only), then schedules its flush. */
  async rotate(): Promise<void> { // PA
    const old = this.wal;
    if (old === undefined || this.rs.mem.versionCount === 0) return;
    // Every write in the old log must be durable before any write lands in the new one,
    // and the values its pointers refer to before the log itself (the table made from it
    // must never point at bytes a power loss could take).
    try {
      if (this.values !== undefined && this.values.needsSync) await this.values.sync();
      await old.sync();
    } catch (e) {
      // The log's state is unknown after a failed fsync: read-only until reopened, as the committer does.
      this.committer?.failLog(e);
      throw e;
    }
    const n = this.vs.newFileNumber();
    const next = WalWriter.create(this.fs, this.dir, n, this.random.nextU32());
    const mem = new MemTable();
    this.wal = next;
    old.close();
    this.publish({ mem, imms: [{ mem: this.rs.mem, nextLogNumber: n }, ...this.rs.imms], version: this.rs.version });
    this.committer?.switchTo(next, mem);
    this.counters.rotations++;
    this.log.debug("memtable.rotated", { log: walFileName(n), immutables: this.rs.imms.length });
    this.worker.schedule();
  }

  /** Replaces the read state (a new frozen object, so readers holding the old one are unaffected). */
  publish(rs: ReadState): void { // A
    const old = this.rs.version;
    const versionChanged = rs.version !== old;
    if (versionChanged) rs.version.ref();
    this.rs = Object.freeze({ mem: rs.mem, imms: Object.freeze(rs.imms.slice()), version: rs.version });
    if (versionChanged) {
      old.unref();
      this.stallNeeded = this.worker.mustStall();
    }
  }

  /** The version set's current version became `this.vs.current()`: publish it. */
  publishVersion(): void { // A
    this.publish({ ...this.rs, version: this.vs.current() });
    this.onPublish?.();
  }

  outputContext(): TableOutputContext { // A
    return {
      fs: this.fs,
      dir: this.dir,
      newFileNumber: () => this.vs.newFileNumber(), // A
      pending: this.pending,
      blockBytes: this.options.blockBytes,
      bitsPerKey: this.options.bloomBitsPerKey,
    };
  }

  /** Writes the oldest immutable memtable to a level-0 table and retires it and its logs. */
  async flushOldest(): Promise<void> { // PA
    const imms = this.rs.imms;
    const imm = imms[imms.length - 1];
    if (imm === undefined) return;
    const out = new TableOutputs(this.outputContext(), { level: 0 });
    // A dropped pointer version makes its value-log record garbage: the flush's edit records it.
    const discard = new DiscardCounter(() => "an immutable memtable"); // A
    let added;
    try {
      const it = imm.mem.iterator();
      // Versions no reader can see are not written (the compaction rule, minus
      // dropping deletions: level 0 is never the bottom). A snapshot taken
      // later sees the newest version of each key, which is always kept.
      const filter = new VersionFilter(this.snapshots.sequences(), false);
      // Sliced by versions, not keys: a key overwritten thousands of times must not make one slice long.
      let sinceYield = 0;
      for (it.seekFirst(); it.valid(); it.next()) {
        const key = it.key();
        const versions = it.versions();
        for (const v of versions) {
          if (filter.keep(key, v.seq, v.kind)) out.add(key, v.seq, v.kind, v.value);
          else discard.dropped(v.kind, v.seq, v.value);
        }
        sinceYield += versions.length;
        if (sinceYield >= FLUSH_SLICE_ENTRIES) {
          sinceYield = 0;
          await yieldToEventLoop();
          if (this.closed) throw new ClosedError();
        }
      }
      added = await out.finish();
    } catch (e) {
      out.abandon();
      throw e;
    }
    // If the edit fails its fate is unknown (a restart may or may not see it),
    // so the table stays on disk and pending until reopen sorts it out.
    const vlogDiscard = discard.deltas();
    await this.vs.logAndApply({ added, logNumber: imm.nextLogNumber, lastSeq: imm.mem.lastSeq, ...(vlogDiscard !== undefined ? { vlogDiscard } : {}) });
    out.releasePending();
    this.counters.flushes++;
    this.counters.flushBytes += out.bytesWritten;
    this.log.debug("memtable.flushed", { tables: added.map((a) => a.fileNumber), bytes: out.bytesWritten });
    // The edit is durable: the memtable's data is in the table, its logs are obsolete.
    const cur = this.rs;
    this.publish({ mem: cur.mem, imms: cur.imms.filter((x: SealedMemTable) => x !== imm), version: this.vs.current() });
    this.onPublish?.();
    this.removeObsoleteFiles();
  }

  /**
   * Removes logs below the manifest's log number, tables no live version
   * and no job in progress uses, and manifests other than the live one.
   * A failed removal only leaves garbage for the next pass.
   */
  removeObsoleteFiles(): void { // PA
    if (this.vs.readOnly) return;
    let files;
    try {
      files = listDbFiles(this.fs, this.dir);
    } catch (e) {
      this.log.warn("files.list-failed", { dir: this.dir, error: String(e) });
      return;
    }
    const live = this.vs.liveFileNumbers();
    const activeLog = this.wal?.logNumber;
    const doomed: string[] = [];
    for (const n of files.logs) if (n < this.vs.logNumber && n !== activeLog) doomed.push(walFileName(n));
    for (const n of files.tables) {
      if (live.has(n) || this.pending.has(n)) continue;
      this.tables.evict(n);
      this.blockCache.evictFile(n);
      doomed.push(tableFileName(n));
    }
    // Only older manifests: a newer one is a rotation whose outcome is unknown
    // (CURRENT may already name it); the next open sorts it out.
    for (const n of files.manifests) if (n < this.vs.manifestNumber) doomed.push(manifestFileName(n));
    for (const name of doomed) {
      try {
        this.fs.remove(joinPath(this.dir, name));
      } catch (e) {
        this.log.warn("files.remove-failed", { file: name, error: String(e) });
      }
    }
    if (doomed.length > 0) this.log.debug("files.removed", { files: doomed });
  }

  /** Flushes everything in memory to tables (between groups), then waits for the flushes. */
  async flushAll(): Promise<void> { // A
    if (this.committer === undefined) return;
    await this.committer.exclusive(() => this.rotate());
    await this.worker.runUntil(() => this.rs.imms.length === 0);
  }

  /** Stops background work (a job in progress is abandoned), then closes the table cache and the log. */
  async close(): Promise<void> { // A
    this.closed = true;
    await this.worker.stop();
    this.rs.version.unref();
    this.tables.close();
    this.wal?.close();
  }

  get isClosed(): boolean { // A
    return this.closed;
  }
}
