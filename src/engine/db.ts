/**
 * `openDB` and `DB`: the engine's only door. This slice of the engine keeps
 * all data in the memtable and the WAL (flushing to SSTables comes with the
 * LSM issue); the WAL is replayed on open.
 *
 * Every public method validates its arguments first and fails with a typed
 * error (as a rejected promise where it returns one) without changing anything.
 */
import { ClosedError, InvalidArgumentError, NotFoundError, ReadOnlyError } from "../errors.ts";
import { bytesToLatin1 } from "../encoding/bytes.ts";
import { createLog, type ClusterLog } from "../log/clusterlog.ts";
import { SystemClock } from "../platform/clock.ts";
import { systemRandom } from "../platform/random.ts";
import { dirName, joinPath, type FileLock, type FileSystem } from "../platform/fs.ts";
import { nodeFileSystem } from "../platform/node-fs.ts";
import { Committer } from "./committer.ts";
import { DBIterator, toKeyRange, type IterateOptions } from "./db-iterator.ts";
import { KIND_DELETE, KIND_PUT, type MemTable } from "./memtable/memtable.ts";
import { resolveOptions, type DBOptions, type ResolvedOptions } from "./options.ts";
import { recoverDatabase, listWalNumbers } from "./recovery.ts";
import { Snapshot, SnapshotList } from "./snapshot.ts";
import { verifyLogs, type VerifyReport } from "./verify.ts";
import { checkKey, checkValue, singleOpRecord, WriteBatch } from "./write-batch.ts";
import type { WalWriter } from "./wal/writer.ts";

export interface WriteOptions {
  /** fsync before resolving (default: the database's `sync` option). */
  sync?: boolean;
}

export interface ReadOptions {
  snapshot?: Snapshot;
}

export interface DBStats {
  profile: string;
  /** Highest sequence number visible to reads. */
  sequence: number;
  /** Bytes appended to the WAL since open. */
  bytesWritten: number;
  /** Current size of the active WAL file. */
  walBytes: number;
  walFiles: number;
  memtableBytes: number;
  memtableKeys: number;
  memtableVersions: number;
  /** Commit groups written, fsyncs issued, write batches committed since open. */
  writeGroups: number;
  syncs: number;
  batchesWritten: number;
  liveSnapshots: number;
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
    const r = await recoverDatabase(fs, path, { readOnly: o.readOnly, repair: o.repair, log, random });
    log.info("db.open", { path, sequence: r.lastSeq, logs: r.replays.length, keys: r.memtable.keyCount });
    return new DB(path, fs, o, log, lock, r.memtable, r.writer, r.lastSeq);
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
  if (o.errorIfExists && listWalNumbers(fs, path).length > 0) {
    throw new InvalidArgumentError(`a database already exists at ${path} (errorIfExists is on)`);
  }
}

export class DB {
  private closing: Promise<void> | undefined;
  private closed = false;
  private readonly committer: Committer | undefined;
  private readonly snapshots = new SnapshotList();
  private readonly readSeqFallback: number;
  /** WAL files in the directory; this slice never adds or retires one after open. */
  private readonly walFileCount: number;

  /** Use `openDB`. */
  constructor( // A
    readonly path: string,
    private readonly fs: FileSystem,
    private readonly options: ResolvedOptions,
    private readonly log: ClusterLog,
    private readonly lock: FileLock,
    private readonly memtable: MemTable,
    private readonly wal: WalWriter | undefined,
    lastSeq: number,
  ) {
    this.committer = wal === undefined ? undefined : new Committer(wal, memtable, lastSeq);
    this.readSeqFallback = lastSeq;
    this.walFileCount = listWalNumbers(fs, path).length;
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
    const e = this.memtable.get(k, seq);
    return e === undefined || e.kind !== KIND_PUT ? undefined : e.value!.slice();
  }

  put(key: Uint8Array | string, value: Uint8Array | string, options?: WriteOptions): Promise<void> { // A
    try {
      const sync = this.writeSync(options);
      return this.committer!.submit(singleOpRecord(KIND_PUT, checkKey(key), checkValue(value)), sync);
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
    return new WriteBatch();
  }

  /** Applies every operation of `batch` atomically, also across a crash. */
  write(batch: WriteBatch, options?: WriteOptions): Promise<void> { // A
    try {
      if (!(batch instanceof WriteBatch)) throw new InvalidArgumentError("write() takes a WriteBatch from db.batch()");
      const sync = this.writeSync(options);
      if (batch.length === 0) return Promise.resolve();
      return this.committer!.submit(batch.toRecord(), sync);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Entries in unsigned bytewise key order (or reverse) within the given bounds, at one point in time. */
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
    try {
      return new DBIterator(this.memtable.iterator(), range, snap, own, () => this.closed || this.closing !== undefined, options);
    } catch (e) {
      if (own) snap.release();
      throw e;
    }
  }

  /** A frozen view of the database for reads; release it when done. */
  snapshot(): Snapshot { // A
    this.checkOpen();
    return new Snapshot(this.visibleSeq(), this.snapshots);
  }

  /**
   * Waits for every write issued so far and makes all of them durable (fsync).
   * With the LSM issue this also writes the memtable to an SSTable.
   */
  async flush(): Promise<void> { // A
    this.checkOpen();
    if (this.committer === undefined) return;
    await this.committer.whenSettled();
    if (this.committer.fatal !== undefined) throw this.committer.fatal;
    await this.wal!.sync();
  }

  /** Re-reads every file and checks every checksum; reports per file. */
  async verify(): Promise<VerifyReport> { // A
    this.checkOpen();
    if (this.committer !== undefined) await this.committer.whenSettled();
    return verifyLogs(this.fs, this.path);
  }

  stats(): DBStats { // A
    const c = this.committer?.stats;
    return {
      profile: this.options.profile,
      sequence: this.visibleSeq(),
      bytesWritten: c?.walBytesWritten ?? 0,
      walBytes: this.wal?.size ?? 0,
      walFiles: this.walFileCount,
      memtableBytes: this.memtable.sizeBytes,
      memtableKeys: this.memtable.keyCount,
      memtableVersions: this.memtable.versionCount,
      writeGroups: c?.groups ?? 0,
      syncs: c?.syncs ?? 0,
      batchesWritten: c?.records ?? 0,
      liveSnapshots: this.snapshots.size,
    };
  }

  /** Settles pending writes, fsyncs the log and releases the lock. Idempotent. */
  close(): Promise<void> { // A
    this.closing ??= this.doClose();
    return this.closing;
  }

  get isClosed(): boolean { // A
    return this.closed || this.closing !== undefined;
  }

  private async doClose(): Promise<void> { // PA
    try {
      if (this.committer !== undefined) {
        await this.committer.whenIdle();
        if (this.committer.fatal === undefined) await this.wal!.sync();
      }
    } catch (e) {
      this.log.error("db.close.sync-failed", { path: this.path, error: String(e) });
      throw e;
    } finally {
      this.closed = true;
      try {
        this.wal?.close();
      } finally {
        this.lock.release();
        this.log.info("db.close", { path: this.path });
      }
    }
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

