/**
 * `openDB` and `DB`: the engine's only door. Writes go through the group
 * committer into the WAL and the memtable; the LSM tree (tree/) rotates
 * full memtables, flushes them to level-0 tables and compacts in the
 * background; reads merge the memtables and the tables at one sequence number.
 *
 * Every public method validates its arguments first and fails with a typed
 * error (as a rejected promise where it returns one) without changing anything.
 */
import { BudgetExceededError, ClosedError, InvalidArgumentError, NotFoundError, ReadOnlyError } from "../errors.ts";
import { bytesToLatin1, copyBytes } from "../encoding/bytes.ts";
import { createLog, type ClusterLog } from "../log/clusterlog.ts";
import { SystemClock } from "../platform/clock.ts";
import { systemRandom } from "../platform/random.ts";
import { dirName, joinPath, type FileLock, type FileSystem } from "../platform/fs.ts";
import { nodeFileSystem } from "../platform/node-fs.ts";
import { Committer } from "./committer.ts";
import { DBIterator, resolvePointer, toKeyRange, type IterateOptions } from "./db-iterator.ts";
import { KIND_DELETE, KIND_PUT, KIND_VALUE_POINTER } from "./memtable/memtable.ts";
import { resolveOptions, type DBOptions, type ResolvedOptions } from "./options.ts";
import { listDbFiles } from "./files.ts";
import { Snapshot, SnapshotList } from "./snapshot.ts";
import { verifyDatabase, type VerifyReport } from "./verify.ts";
import { checkKey, checkValue, singleOpRecord, WriteBatch } from "./write-batch.ts";
import { openTree } from "./tree/open.ts";
import type { Tree } from "./tree/tree.ts";
import { treeStats, type TreeStats } from "./tree/stats.ts";
import type { KeyRange as CompactionRange } from "./compaction/task.ts";
import { emptyGcReport, gcBudget, gcRatio, GC_STEP_BYTES, ValueLogGc, type GcOptions, type GcReport } from "./value-gc.ts";
import { yieldToEventLoop } from "../platform/yield.ts";

export interface WriteOptions {
  /** fsync before resolving (default: the database's `sync` option). */
  sync?: boolean;
}

export interface ReadOptions {
  snapshot?: Snapshot;
}

export interface DBStats extends TreeStats {
  profile: string;
  compaction: string;
  /** Highest sequence number visible to reads. */
  sequence: number;
  /** Bytes appended to the WAL since open. */
  bytesWritten: number;
  /** Current size of the active WAL file. */
  walBytes: number;
  /** Commit groups written, fsyncs issued, write batches committed since open. */
  writeGroups: number;
  syncs: number;
  batchesWritten: number;
  liveSnapshots: number;
  openIterators: number;
  valueLog: ValueLogStats;
  memory: MemoryStats;
}

/** The memory budget and what each part of the engine holds now (estimates from the parts' own accounting). */
export interface MemoryStats {
  budgetBytes: number;
  usedBytes: number;
  /** The active and sealed memtables (sizeBytes, which counts the record buffers holding their values). */
  memtables: number;
  blockCache: number;
  /** Indexes and filters of open tables, and the share they may take. */
  tableMeta: number;
  tableMetaMax: number;
  /** Blocks open iterators may hold, and their share. */
  iterators: number;
  iteratorsMax: number;
  /** Writes waiting to commit. */
  writeBuffers: number;
}

export interface ValueLogStats {
  /** Value-log files on disk. */
  files: number;
  /** Record bytes appended since open. */
  appendedBytes: number;
  /** Garbage bytes the discard statistics count, over all files. */
  garbageBytes: number;
  /** GC since open: files deleted, values moved, bytes freed; retired files waiting to be deleted. */
  gcFilesDeleted: number;
  gcValuesMoved: number;
  gcBytesFreed: number;
  gcFilesWaiting: number;
}

/** Background GC steps per trigger at most (each bounded by GC_STEP_BYTES); the next flush or compaction triggers more. */
const AUTO_GC_STEPS = 16;
/** Garbage share at which background GC rewrites a file. */
const AUTO_GC_RATIO = 0.5;

/** Range for `compact`: bounds as in iterate (all optional: the whole key space). */
export interface CompactRange {
  gt?: Uint8Array | string;
  gte?: Uint8Array | string;
  lt?: Uint8Array | string;
  lte?: Uint8Array | string;
}

const LOCK_FILE = "LOCK";

/** Opens (creating if allowed) the database in directory `path`. */
export async function openDB(path: string, options: DBOptions = {}): Promise<DB> { // PA
  if (typeof path !== "string" || path.length === 0) throw new InvalidArgumentError("path must be a non-empty string");
  const o = resolveOptions(options);
  const fs = options.fs ?? nodeFileSystem();
  const log = (options.log ?? createLog({ clock: new SystemClock() })).child("engine");
  await prepareDirectory(fs, path, o);
  const lock = fs.lock(joinPath(path, LOCK_FILE));
  try {
    const random = options.random ?? systemRandom();
    const snapshots = new SnapshotList();
    const { tree, recovery } = await openTree(fs, path, o, log, random, snapshots);
    const v = tree.readState.version;
    log.info("db.open", { path, sequence: recovery.lastSeq, logs: recovery.replays.length, keys: recovery.memtable.keyCount, tables: v.fileCount });
    return new DB(path, fs, o, log, lock, tree, snapshots, recovery.lastSeq);
  } catch (e) {
    lock.release();
    throw e;
  }
}

async function prepareDirectory(fs: FileSystem, path: string, o: ResolvedOptions): Promise<void> { // A
  const st = fs.stat(path);
  if (st !== undefined && !st.isDirectory) throw new InvalidArgumentError(`${path} exists and is not a directory`);
  if (st === undefined) {
    if (!o.createIfMissing || o.readOnly) throw new NotFoundError(path, `no database at ${path} (createIfMissing is off)`);
    fs.mkdir(path, { recursive: true });
    await fs.syncDir(dirName(path));
    return;
  }
  const f = o.errorIfExists ? listDbFiles(fs, path) : undefined;
  if (f !== undefined && (f.logs.length > 0 || f.tables.length > 0 || f.manifests.length > 0 || f.current)) {
    throw new InvalidArgumentError(`a database already exists at ${path} (errorIfExists is on)`);
  }
}

export class DB {
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly committer: Committer | undefined;
  private readonly readSeqFallback: number;
  private readonly iterators = new Set<DBIterator>();
  /** What each open iterator is charged against the budget's iterator share. */
  private readonly iteratorCharges = new Map<DBIterator, number>();
  private iteratorBytes = 0;
  private batchBytesHint = 256;
  private readonly gc: ValueLogGc | undefined;
  private gcRun: Promise<void> | undefined = undefined;
  private readonly gcTotals = emptyGcReport();

  /** Use `openDB`. */
  constructor( // A
    readonly path: string,
    private readonly fs: FileSystem,
    private readonly options: ResolvedOptions,
    private readonly log: ClusterLog,
    private readonly lock: FileLock,
    private readonly tree: Tree,
    private readonly snapshots: SnapshotList,
    lastSeq: number,
  ) {
    const wal = tree.activeWal;
    this.committer = wal === undefined ? undefined : new Committer(wal, tree.readState.mem, lastSeq, () => tree.gate()); // A
    if (this.committer !== undefined) tree.attach(this.committer);
    if (this.committer !== undefined && tree.values !== undefined) {
      this.committer.useValueLog(tree.values);
      this.gc = new ValueLogGc({
        fs, dir: path, tree, values: tree.values, committer: this.committer, snapshots, log, visibleSeq: () => this.visibleSeq(), // A
      });
      tree.onPublish = () => this.afterBackgroundJob(); // A
    }
    this.readSeqFallback = lastSeq;
    // A replayed log bigger than a memtable is sealed and flushed right away.
    const replayed = tree.readState.mem;
    if (this.committer !== undefined && replayed.sizeBytes + replayed.valueLogBytes >= options.memtableBytes) {
      this.committer.exclusive(() => tree.rotate()).catch((e: unknown) => log.warn("db.open.flush-failed", { error: String(e) })); // A
    }
    if (this.committer !== undefined) tree.worker.schedule();
  }

  /** The value of `key`, or undefined if absent. */
  get(key: Uint8Array | string, options?: ReadOptions): Promise<Uint8Array | undefined> { // A
    try {
      return Promise.resolve(this.getSync(key, options));
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Synchronous `get` (the data is in memory or one positional read away). */
  getSync(key: Uint8Array | string, options?: ReadOptions): Uint8Array | undefined { // A
    this.checkOpen();
    const k = bytesToLatin1(checkKey(key));
    const seq = this.readSeq(options);
    const e = this.tree.get(k, seq);
    if (e === undefined || e.kind === KIND_DELETE) return undefined;
    return e.kind === KIND_VALUE_POINTER ? resolvePointer(this.tree.values, k, e.value!) : copyBytes(e.value!);
  }

  put(key: Uint8Array | string, value: Uint8Array | string, options?: WriteOptions): Promise<void> { // A
    try {
      const sync = this.writeSync(options);
      const v = checkValue(value);
      return this.committer!.submit(singleOpRecord(KIND_PUT, checkKey(key), v), sync, v.length);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  delete(key: Uint8Array | string, options?: WriteOptions): Promise<void> { // A
    try {
      const sync = this.writeSync(options);
      return this.committer!.submit(singleOpRecord(KIND_DELETE, checkKey(key), undefined), sync);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** A new, empty batch; fill it and pass it to `write`. */
  batch(): WriteBatch { // A
    return new WriteBatch(this.batchBytesHint);
  }

  /** Applies every operation of `batch` atomically, also across a crash. */
  write(batch: WriteBatch, options?: WriteOptions): Promise<void> { // A
    try {
      if (!(batch instanceof WriteBatch)) throw new InvalidArgumentError("write() takes a WriteBatch from db.batch()");
      const sync = this.writeSync(options);
      if (batch.length === 0) return Promise.resolve();
      const rec = batch.toRecord();
      // The next db.batch() starts at this size (at most 1 MiB), so a run of big batches does not regrow each one.
      this.batchBytesHint = Math.min(rec.length + 64, 1 << 20);
      return this.committer!.submit(rec, sync, batch.longestValueBytes);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Entries in unsigned bytewise key order (or reverse) within the given
   * bounds, at one point in time. The iterator keeps the files it reads
   * until it ends or is return()ed.
   */
  iterate(options: IterateOptions = {}): DBIterator { // A
    this.checkOpen();
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("iterate options must be an object");
    const range = toKeyRange(options);
    if (options.snapshot !== undefined && !(options.snapshot instanceof Snapshot)) {
      throw new InvalidArgumentError("snapshot must come from db.snapshot()");
    }
    options.snapshot?.checkedSeq();
    const own = options.snapshot === undefined;
    const snap = options.snapshot ?? this.snapshot();
    let tc;
    try {
      tc = this.tree.cursor();
    } catch (e) {
      if (own) snap.release();
      throw e;
    }
    // An iterator holds about two blocks per source (a cursor per memtable, level-0 table and level).
    const charge = 2 * this.options.blockBytes * (tc.sources + 1);
    if (this.iteratorBytes + charge > this.options.iteratorBytes) {
      if (own) snap.release();
      tc.close();
      throw new BudgetExceededError(
        `${this.iterators.size} open iterators hold about ${this.iteratorBytes} bytes; one more would pass the memory budget's iterator share (${this.options.iteratorBytes}); end some first`,
      );
    }
    let it: DBIterator | undefined = undefined;
    const onFinish = (): void => { // A
      if (it !== undefined) {
        this.iterators.delete(it);
        this.iteratorBytes -= this.iteratorCharges.get(it) ?? 0;
        this.iteratorCharges.delete(it);
      }
      tc.close();
      // Files that only an older version kept alive may be obsolete now.
      if (!this.closed && tc.version !== this.tree.readState.version) this.tree.removeObsoleteFiles();
    };
    try {
      it = new DBIterator(tc.cursor, range, snap, own, () => this.closed || this.closing !== undefined, options, onFinish, this.tree.values); // A
    } catch (e) {
      if (own) snap.release();
      tc.close();
      throw e;
    }
    this.iterators.add(it);
    this.iteratorCharges.set(it, charge);
    this.iteratorBytes += charge;
    return it;
  }

  /** A frozen view of the database for reads; release it when done. */
  snapshot(): Snapshot { // A
    this.checkOpen();
    return new Snapshot(this.visibleSeq(), this.snapshots);
  }

  /**
   * Waits for every write issued so far, then writes the memtable to a
   * table (fsynced and named in the manifest): afterwards all of those
   * writes are durable and the WAL holds none of them.
   */
  async flush(): Promise<void> { // A
    this.checkOpen();
    if (this.committer === undefined) return;
    await this.committer.whenSettled();
    if (this.committer.fatal !== undefined) throw this.committer.fatal;
    await this.tree.flushAll();
  }

  /**
   * Compacts the tables holding keys in `range` (default: everything) as
   * far down as the strategy goes, after flushing the memtable. Shadowed
   * versions no snapshot can see, and deletions at the bottom, are dropped.
   */
  async compact(range: CompactRange = {}): Promise<void> { // A
    this.checkOpen();
    if (range === null || typeof range !== "object") throw new InvalidArgumentError("compact range must be an object");
    const r = toKeyRange(range);
    if (this.committer === undefined) throw new ReadOnlyError(this.path);
    const span: CompactionRange = {};
    if (r.lower !== undefined) span.smallest = r.lower;
    if (r.upper !== undefined) span.largest = r.upper;
    await this.flush();
    await this.tree.worker.compact(span, false);
  }

  /**
   * The idle hook (for the mobile profile, which does no compaction on its
   * own): one bounded compaction step if the strategy finds one worth
   * doing. Resolves whether any work was done.
   */
  async maintain(): Promise<boolean> { // A
    this.checkOpen();
    if (this.committer === undefined) return false;
    const compacted = await this.tree.worker.compact(undefined, true);
    if (this.gc === undefined) return compacted;
    // And one bounded value-log GC step (the mobile profile's only GC besides gcValueLog()).
    const report = emptyGcReport();
    const moved = await this.gcStep(AUTO_GC_RATIO, report, GC_STEP_BYTES);
    this.gcTotals.recordsMoved += report.recordsMoved;
    return compacted || moved > 0 || (await this.gc.deleteRetired()) > 0;
  }

  /**
   * Value-log GC now: rewrites the live values of every file with at least
   * `minGarbageRatio` garbage (default 0.5), within `maxBytes` of records
   * if given, flushes the memtable if that is what keeps a rewritten file
   * alive, and deletes what nothing needs any more (files an open snapshot
   * or iterator may still read wait until it is released).
   */
  async gcValueLog(options?: GcOptions): Promise<GcReport> { // A
    this.checkOpen();
    if (options !== undefined && (options === null || typeof options !== "object")) throw new InvalidArgumentError("gcValueLog options must be an object");
    const ratio = gcRatio(options);
    const budget = gcBudget(options);
    if (this.committer === undefined) throw new ReadOnlyError(this.path);
    const report = emptyGcReport();
    const gc = this.gc;
    if (gc === undefined) return report;
    const deletedBefore = gc.deletedFiles;
    const freedBefore = gc.deletedBytes;
    let spent = 0;
    // Each step processes at least one record or retires a file; the guard only bounds a bug.
    for (let guard = 0; spent < budget && guard < 10_000_000; guard++) {
      const n = await this.gcStep(ratio, report, Math.min(GC_STEP_BYTES, budget - spent));
      if (n === 0) break;
      spent += n;
    }
    if (gc.needsFlush) await this.flush();
    await gc.deleteRetired();
    report.filesDeleted = gc.deletedFiles - deletedBefore;
    report.bytesFreed = gc.deletedBytes - freedBefore;
    report.filesWaiting = gc.waiting;
    this.gcTotals.recordsMoved += report.recordsMoved;
    return report;
  }

  /** One exclusive GC step on the file `ratio` picks; the bytes it processed (0: nothing to do). */
  private gcStep(ratio: number, report: GcReport, stepBytes: number): Promise<number> { // A
    const gc = this.gc!;
    return this.committer!.exclusive(async () => { // A
      if (this.closing !== undefined || this.closed) return 0;
      const f = gc.pick(ratio);
      return f === undefined ? 0 : gc.step(f, report, stepBytes);
    });
  }

  /** After a flush or compaction: delete retired files that became free, and (auto mode) run a few GC steps. */
  private afterBackgroundJob(): void { // A
    const gc = this.gc;
    if (gc === undefined || this.closing !== undefined || this.closed || this.gcRun !== undefined) return;
    // Nothing to collect or delete (a database without large values): no exclusive step per flush.
    if (this.tree.values!.fileCount === 0 && gc.waiting === 0) return;
    const report = emptyGcReport();
    const auto = this.options.valueLogGc === "auto";
    this.gcRun = (async () => { // A
      try {
        for (let i = 0; auto && i < AUTO_GC_STEPS && this.closing === undefined; i++) {
          if ((await this.gcStep(AUTO_GC_RATIO, report, GC_STEP_BYTES)) === 0) break;
          await yieldToEventLoop();
        }
        await gc.deleteRetired();
      } catch (e) {
        this.log.warn("vlog.gc.failed", { error: String(e) });
      } finally {
        this.gcTotals.recordsMoved += report.recordsMoved;
        this.gcRun = undefined;
      }
    })();
  }

  /** Re-reads every file and checks every checksum; reports per file. */
  async verify(): Promise<VerifyReport> { // A
    this.checkOpen();
    if (this.committer !== undefined) await this.committer.whenSettled();
    return verifyDatabase(this.fs, this.path, this.tree, this.visibleSeq());
  }

  stats(): DBStats { // A
    const c = this.committer?.stats;
    const base = {
      profile: this.options.profile,
      compaction: this.options.compaction,
      sequence: this.visibleSeq(),
      bytesWritten: c?.walBytesWritten ?? 0,
      walBytes: this.tree.activeWal?.size ?? 0,
      writeGroups: c?.groups ?? 0,
      syncs: c?.syncs ?? 0,
      batchesWritten: c?.records ?? 0,
      liveSnapshots: this.snapshots.size,
      openIterators: this.iterators.size,
      valueLog: this.valueLogStats(),
    };
    const tree = treeStats(this.tree, c?.walBytesWritten ?? 0);
    return { ...base, ...tree, memory: this.memoryStats(tree) };
  }

  /** Settles pending writes, flushes the memtable, fsyncs, and releases the lock. Idempotent. */
  close(): Promise<void> { // A
    this.closing ??= this.doClose();
    return this.closing;
  }

  get isClosed(): boolean { // A
    return this.closed || this.closing !== undefined;
  }

  private async doClose(): Promise<void> { // PA
    let failure: unknown = undefined;
    try {
      for (const it of [...this.iterators]) void it.return();
      // A background GC run sees `closing` and stops after its current step.
      await this.gcRun;
      if (this.committer !== undefined) {
        await this.committer.whenIdle();
        if (this.committer.fatal === undefined) {
          // A clean close leaves the data in tables, so the next open replays no log.
          // Best effort: if it fails (a full disk), the log still holds everything.
          await this.tree.flushAll().catch((e: unknown) => this.log.warn("db.close.flush-failed", { path: this.path, error: String(e) })); // A
        }
        const wal = this.tree.activeWal;
        if (this.committer.fatal === undefined && wal !== undefined && wal.brokenError === undefined) await wal.sync();
      }
    } catch (e) {
      failure = e;
      this.log.error("db.close.sync-failed", { path: this.path, error: String(e) });
    }
    this.closed = true;
    try {
      await this.tree.close();
      await this.tree.values?.idle();
      this.tree.values?.close();
      await this.tree.vs.close();
    } finally {
      this.lock.release();
      this.log.info("db.close", { path: this.path });
    }
    if (failure !== undefined) throw failure;
  }

  private memoryStats(t: TreeStats): MemoryStats { // A
    const rs = this.tree.readState;
    let memtables = rs.mem.sizeBytes;
    for (const imm of rs.imms) memtables += imm.mem.sizeBytes;
    const writeBuffers = this.committer?.queueBytes ?? 0;
    const parts = { memtables, blockCache: t.blockCache.usedBytes, tableMeta: t.tableCache.bytes, iterators: this.iteratorBytes, writeBuffers };
    return {
      budgetBytes: this.options.memoryBudgetBytes,
      usedBytes: parts.memtables + parts.blockCache + parts.tableMeta + parts.iterators + parts.writeBuffers,
      ...parts,
      tableMetaMax: this.options.tableMetaBytes,
      iteratorsMax: this.options.iteratorBytes,
    };
  }

  private valueLogStats(): ValueLogStats { // A
    const values = this.tree.values;
    let garbage = 0;
    const discard = this.tree.vs.vlogDiscard();
    // Totals of deleted files may come back (compaction dropping old pointers into them): count files on disk only.
    for (const n of values?.fileNumbers ?? []) garbage += discard.get(n) ?? 0;
    return {
      files: values?.fileNumbers.length ?? 0,
      appendedBytes: values?.appendedBytes ?? 0,
      garbageBytes: garbage,
      gcFilesDeleted: this.gc?.deletedFiles ?? 0,
      gcValuesMoved: this.gcTotals.recordsMoved,
      gcBytesFreed: this.gc?.deletedBytes ?? 0,
      gcFilesWaiting: this.gc?.waiting ?? 0,
    };
  }

  private visibleSeq(): number { // A
    return this.committer?.visibleSeq ?? this.readSeqFallback;
  }

  private readSeq(options: ReadOptions | undefined): number { // A
    if (options === undefined) return this.visibleSeq();
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("read options must be an object");
    if (options.snapshot === undefined) return this.visibleSeq();
    if (!(options.snapshot instanceof Snapshot)) throw new InvalidArgumentError("snapshot must come from db.snapshot()");
    return options.snapshot.checkedSeq();
  }

  private checkOpen(): void { // A
    if (this.closed || this.closing !== undefined) throw new ClosedError();
  }

  /** Validates write options and the database state; returns the sync flag. */
  private writeSync(options: WriteOptions | undefined): boolean { // A
    this.checkOpen();
    if (this.committer === undefined) throw new ReadOnlyError(this.path);
    if (options === undefined) return this.options.sync;
    if (options === null || typeof options !== "object") throw new InvalidArgumentError("write options must be an object");
    if (options.sync === undefined) return this.options.sync;
    if (typeof options.sync !== "boolean") throw new InvalidArgumentError("option sync must be a boolean");
    return options.sync;
  }
}
