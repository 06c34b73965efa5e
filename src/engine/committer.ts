/**
 * The write path's group commit. Writes queue up; a microtask later the
 * whole queue (up to `groupBytesMax`) becomes one group: sequence numbers
 * are assigned in arrival order, the records are sealed and written with one
 * write call, fsynced once if any write in the group asked for `sync`, then
 * applied to the memtable and resolved in order. Writes that arrive while a
 * group waits for its fsync form the next group, so concurrent durable
 * writers share fsyncs the way LevelDB's writer queue does.
 *
 * Cost sketch (MEASUREMENTS.md): a positional write call costs a few us, an
 * awaited fs promise 60-164 us; so no promise-returning fs call sits on the
 * path of a non-sync write. A single awaited put is: encode (~0.3 us for 116
 * bytes), CRC (~0.3 us), one write syscall (~2-5 us), memtable insert
 * (~1-3 us), two promise hops. Budget: >120k awaited puts/s.
 *
 * Failure: if the write call fails the group is rejected and the log is cut
 * back (WalWriter); if the fsync fails, or the log cannot be cut back, the
 * database turns read-only (every later write rejects with that error) until
 * it is reopened, because the file's state is unknown.
 */
import { IOError, OuroborosError, BudgetExceededError } from "../errors.ts";
import { decodeBatchBody, recordEntryCount } from "./write-batch.ts";
import type { MemTable } from "./memtable/memtable.ts";
import { sealWalRecord, WAL_RECORD_HEADER_BYTES } from "./wal/format.ts";
import type { WalWriter } from "./wal/writer.ts";

interface PendingWrite {
  rec: Uint8Array;
  sync: boolean;
  resolve: () => void;
  reject: (e: unknown) => void;
}

export interface CommitStats {
  groups: number;
  syncs: number;
  records: number;
  walBytesWritten: number;
}

const GROUP_BYTES_MAX = 4 * 1024 * 1024;
/** Bytes of writes allowed to wait in the queue; beyond it a write is refused. */
const QUEUE_BYTES_MAX = 1024 * 1024 * 1024;

export class Committer {
  private queue: PendingWrite[] = [];
  private queueHead = 0;
  private queuedBytes = 0;
  private draining = false;
  private idle: Array<() => void> = [];
  private nextSeq: number;
  /** Highest sequence number whose write is applied and visible to reads. */
  visibleSeq: number;
  /** Set once the log is in an unknown state; every later write fails with it. */
  fatal: unknown = undefined;
  readonly stats: CommitStats = { groups: 0, syncs: 0, records: 0, walBytesWritten: 0 };

  constructor(private readonly wal: WalWriter, private readonly memtable: MemTable, lastSeq: number) { // A
    this.nextSeq = lastSeq + 1;
    this.visibleSeq = lastSeq;
  }

  /** Queues an unsealed record (header room + batch body); resolves when applied. */
  submit(rec: Uint8Array, sync: boolean): Promise<void> { // A
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.queuedBytes + rec.length > QUEUE_BYTES_MAX) {
      return Promise.reject(new BudgetExceededError(
        `more than ${QUEUE_BYTES_MAX} bytes of writes are waiting to be committed; await earlier writes before issuing more`,
      ));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, sync, resolve, reject });
      this.queuedBytes += rec.length;
      if (!this.draining) {
        this.draining = true;
        queueMicrotask(() => void this.drain());
      }
    });
  }

  /** Resolves once every write submitted so far has settled. */
  whenIdle(): Promise<void> { // A
    if (!this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  private async drain(): Promise<void> { // PA
    try {
      while (this.queueHead < this.queue.length) {
        const group = this.takeGroup();
        await this.commitGroup(group);
      }
    } catch (e) {
      // A bug, not an I/O fault (those are handled per group): stop writing, settle everyone.
      this.fatal = e;
      for (let i = this.queueHead; i < this.queue.length; i++) this.queue[i]!.reject(e);
    } finally {
      this.queue = [];
      this.queueHead = 0;
      this.draining = false;
      const waiters = this.idle;
      this.idle = [];
      for (const w of waiters) w();
    }
  }

  private takeGroup(): PendingWrite[] { // A
    const start = this.queueHead;
    let end = start;
    let bytes = 0;
    while (end < this.queue.length && (end === start || bytes + this.queue[end]!.rec.length <= GROUP_BYTES_MAX)) {
      bytes += this.queue[end]!.rec.length;
      end++;
    }
    const group = this.queue.slice(start, end);
    this.queueHead = end;
    this.queuedBytes -= bytes;
    if (end === this.queue.length) {
      this.queue = [];
      this.queueHead = 0;
    }
    return group;
  }

  private async commitGroup(group: PendingWrite[]): Promise<void> { // PA
    if (this.fatal !== undefined) {
      for (const w of group) w.reject(this.fatal);
      return;
    }
    const { buf, firstSeqs } = this.seal(group);
    let wantSync = false;
    for (const w of group) wantSync ||= w.sync;
    try {
      this.wal.append(buf);
    } catch (e) {
      if (this.wal.brokenError !== undefined) this.fatal = readOnlyAfter(e);
      for (const w of group) w.reject(e);
      return;
    }
    this.stats.walBytesWritten += buf.length;
    if (wantSync) {
      try {
        this.stats.syncs++;
        await this.wal.sync();
      } catch (e) {
        this.wal.discardTail(buf.length);
        this.fatal = readOnlyAfter(e);
        for (const w of group) w.reject(e);
        return;
      }
    }
    this.apply(buf, group, firstSeqs);
    this.stats.groups++;
    this.stats.records += group.length;
    for (const w of group) w.resolve();
  }

  /** Assigns sequence numbers and seals every record; one buffer for the group. */
  private seal(group: PendingWrite[]): { buf: Uint8Array; firstSeqs: number[] } { // PA
    const firstSeqs: number[] = new Array(group.length);
    let total = 0;
    for (let i = 0; i < group.length; i++) {
      const rec = group[i]!.rec;
      firstSeqs[i] = this.nextSeq;
      this.nextSeq += recordEntryCount(rec, 0);
      sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, firstSeqs[i]!);
      total += rec.length;
    }
    if (group.length === 1) return { buf: group[0]!.rec, firstSeqs };
    const buf = new Uint8Array(total);
    let at = 0;
    for (const w of group) {
      buf.set(w.rec, at);
      at += w.rec.length;
    }
    return { buf, firstSeqs };
  }

  private apply(buf: Uint8Array, group: PendingWrite[], firstSeqs: number[]): void { // PA
    const mem = this.memtable;
    const visit = (key: string, seq: number, kind: number, value: Uint8Array | undefined): void => { // A
      mem.add(key, seq, kind, value);
    };
    let at = 0;
    for (let i = 0; i < group.length; i++) {
      const len = group[i]!.rec.length;
      const bodyStart = at + WAL_RECORD_HEADER_BYTES;
      decodeBatchBody(buf, bodyStart, at + len, firstSeqs[i]!, visit, {}, true);
      at += len;
    }
    this.visibleSeq = this.nextSeq - 1;
  }
}

function readOnlyAfter(cause: unknown): OuroborosError { // A
  const errno = cause instanceof IOError ? cause.errno : undefined;
  return new IOError("write-ahead log", undefined, errno, {
    cause,
    detail: "an earlier write or fsync failed and left the log in an unknown state; the database is read-only until reopened",
  });
}
