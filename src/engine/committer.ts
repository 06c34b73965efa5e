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
import { decodeBatchBody, recordBase, recordEntryCount, separateValues, type BatchVisitor } from "./write-batch.ts";
import type { MemTable } from "./memtable/memtable.ts";
import type { ValueLog } from "./value-log.ts";
import { sealWalRecord, WAL_RECORD_HEADER_BYTES } from "./wal/format.ts";
import type { WalWriter } from "./wal/writer.ts";

interface PendingWrite {
  rec: Uint8Array;
  sync: boolean;
  /** Bytes of the record's longest value (values of the value log's threshold or more move there at seal). */
  longest: number;
  /** Counted by whenSettled (false for commitNow's writes, which jump the queue). */
  counted: boolean;
  firstSeq: number;
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
  /** Writes submitted, and writes settled (resolved or rejected); both count in submission order. */
  private submitted = 0;
  private settled = 0;
  private settleWaiters: Array<{ upTo: number; resolve: () => void }> = [];
  /** The group being committed, [start, end) in `queue`, while its outcome is open. */
  private inFlightQ: PendingWrite[] | undefined;
  private inFlightStart = 0;
  private inFlightEnd = 0;
  private nextSeq: number;
  /** Highest sequence number whose write is applied and visible to reads. */
  visibleSeq: number;
  /** Set once the log is in an unknown state; every later write fails with it. */
  fatal: unknown = undefined;
  readonly stats: CommitStats = { groups: 0, syncs: 0, records: 0, walBytesWritten: 0 };
  /** Tasks waiting to run between groups (exclusive()); each never rejects, its caller's promise carries the outcome. */
  private between: Array<() => Promise<void>> = [];
  private readonly startDrain = (): void => this.drain(); // A
  private visit!: BatchVisitor;
  private memtable!: MemTable;
  private wal!: WalWriter;
  /** Where large values go (undefined: every value stays in the WAL record). */
  private values: ValueLog | undefined = undefined;

  /**
   * `gate`, when given, runs before every group: it returns a promise when
   * the group must wait (a memtable rotation, a write stall), undefined to
   * go on. A rejected gate rejects the waiting group with that error (the
   * database stays writable); the gate decides whether to fail again.
   */
  constructor( // A
    wal: WalWriter,
    memtable: MemTable,
    lastSeq: number,
    private readonly gate?: () => Promise<void> | undefined,
  ) {
    this.nextSeq = lastSeq + 1;
    this.visibleSeq = lastSeq;
    this.switchTo(wal, memtable);
  }

  /** Points the next groups at a new log and memtable (rotation; call only from the gate, between groups). */
  switchTo(wal: WalWriter, memtable: MemTable): void { // A
    this.wal = wal;
    this.memtable = memtable;
    this.visit = (key, seq, kind, buf, off, len) => memtable.addSlice(key, seq, kind, buf, off, len); // A
  }

  /** Sends values of the log's threshold or more to `values` from the next group on. */
  useValueLog(values: ValueLog): void { // A
    this.values = values;
  }

  /** The log failed outside a group (the rotation's fsync): every later write fails, as after a failed group fsync. */
  failLog(cause: unknown): void { // A
    this.fatal ??= readOnlyAfter(cause);
  }

  /** Bytes of writes waiting in the queue (part of the memory budget's write buffers). */
  get queueBytes(): number { // A
    return this.queuedBytes;
  }

  /** Queues an unsealed record (header room + batch body); resolves when applied. */
  submit(rec: Uint8Array, sync: boolean, longestValue = 0): Promise<void> { // A
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    if (this.queuedBytes + rec.length > QUEUE_BYTES_MAX) {
      return Promise.reject(new BudgetExceededError(
        `more than ${QUEUE_BYTES_MAX} bytes of writes are waiting to be committed; await earlier writes before issuing more`,
      ));
    }
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ rec, sync, longest: longestValue, counted: true, firstSeq: 0, resolve, reject });
      this.queuedBytes += rec.length;
      this.submitted++;
      if (!this.draining) {
        this.draining = true;
        queueMicrotask(this.startDrain);
      }
    });
  }

  /**
   * Runs `task` between two groups: no group is in flight while it runs and
   * none starts until it settles (a rotation switches log and memtable this
   * way). Resolves or rejects with the task's outcome.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> { // A
    return new Promise<T>((resolve, reject) => {
      this.between.push(() => task().then(resolve, reject)); // A
      if (!this.draining) {
        this.draining = true;
        queueMicrotask(this.startDrain);
      }
    });
  }

  /**
   * Commits `rec` at once as a group of its own, ahead of every queued write.
   * Only for a task running under exclusive() (no group is in flight then):
   * value-log GC checks that a key still points where it did and rewrites it
   * in one step that no other write can come between.
   */
  commitNow(rec: Uint8Array, sync: boolean, longestValue: number): Promise<void> { // A
    if (this.fatal !== undefined) return Promise.reject(this.fatal);
    return new Promise<void>((resolve, reject) => {
      const q: PendingWrite[] = [{ rec, sync, longest: longestValue, counted: false, firstSeq: 0, resolve, reject }];
      const pending = this.writeGroup(q, 0, 1);
      // writeGroup settles the write itself (resolve or reject); its promise only says when.
      if (pending !== undefined) pending.catch(() => undefined);
    });
  }

  /** Resolves once the queue is empty (used by close, after new writes are refused). */
  whenIdle(): Promise<void> { // A
    if (!this.draining) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /** Resolves once every write submitted before this call has settled, however busy the queue stays. */
  whenSettled(): Promise<void> { // A
    const upTo = this.submitted;
    if (this.settled >= upTo) return Promise.resolve();
    return new Promise((resolve) => this.settleWaiters.push({ upTo, resolve }));
  }

  private noteSettled(n: number): void { // A
    this.settled += n;
    if (this.settleWaiters.length === 0) return;
    const due = this.settleWaiters.filter((w) => w.upTo <= this.settled);
    this.settleWaiters = this.settleWaiters.filter((w) => w.upTo > this.settled);
    for (const w of due) w.resolve();
  }

  /** Rejects queue[start, end) with `e` and counts them settled. */
  private rejectRange(q: PendingWrite[], start: number, end: number, e: unknown): void { // A
    let n = 0;
    for (let i = start; i < end; i++) {
      q[i]!.reject(e);
      if (q[i]!.counted) n++;
    }
    this.noteSettled(n);
  }

  /**
   * Commits groups synchronously until the queue is empty or a group needs
   * an fsync; then continues after the fsync. No promise hop on the
   * non-sync path.
   */
  private drain(): void { // PA
    try {
      for (;;) {
        const task = this.between.shift();
        if (task !== undefined) {
          task().then(this.startDrain, this.startDrain);
          return;
        }
        if (this.queueHead >= this.queue.length) break;
        if (this.queueHead >= 4096) this.compactQueue();
        const wait = this.gate?.();
        if (wait !== undefined) {
          wait.then(this.startDrain, (e: unknown) => this.failWaitingGroup(e));
          return;
        }
        const start = this.queueHead;
        const end = this.groupEnd(start);
        const pending = this.writeGroup(this.queue, start, end);
        if (pending !== undefined) {
          pending.then(this.startDrain, this.startDrain);
          return;
        }
      }
    } catch (e) {
      // A bug, not an I/O fault (those are handled per group): stop writing, settle everyone.
      this.fatal = e;
      const q = this.inFlightQ;
      this.inFlightQ = undefined;
      if (q !== undefined) this.rejectRange(q, this.inFlightStart, this.inFlightEnd, e);
      this.rejectRange(this.queue, this.queueHead, this.queue.length, e);
    }
    this.queue = [];
    this.queueHead = 0;
    this.draining = false;
    const waiters = this.idle;
    this.idle = [];
    for (const w of waiters) w();
  }

  /** The gate failed: the group that waited for it is rejected with that error; draining goes on. */
  private failWaitingGroup(e: unknown): void { // A
    const start = this.queueHead;
    const end = this.groupEnd(start);
    this.rejectRange(this.queue, start, end, e);
    this.drain();
  }

  /** Drops settled entries from the front (no group is in flight when this runs). */
  private compactQueue(): void { // A
    this.queue = this.queue.slice(this.queueHead);
    this.queueHead = 0;
  }

  /** The end (exclusive) of the group starting at `start`; advances the queue head. */
  private groupEnd(start: number): number { // A
    const q = this.queue;
    let end = start;
    let bytes = 0;
    while (end < q.length && (end === start || bytes + q[end]!.rec.length <= GROUP_BYTES_MAX)) {
      bytes += q[end]!.rec.length;
      end++;
    }
    this.queueHead = end;
    this.queuedBytes -= bytes;
    return end;
  }

  /** Writes queue[start, end); returns a promise if it must wait for an fsync. */
  private writeGroup(q: PendingWrite[], start: number, end: number): Promise<void> | undefined { // PA
    if (this.fatal !== undefined) {
      this.rejectRange(q, start, end, this.fatal);
      return undefined;
    }
    this.inFlightQ = q;
    this.inFlightStart = start;
    this.inFlightEnd = end;
    const values = this.values;
    let buf: Uint8Array;
    let valueBytes = 0;
    try {
      const before = values === undefined ? 0 : values.appendedBytes;
      buf = this.seal(q, start, end);
      if (values !== undefined) valueBytes = values.appendedBytes - before;
      // The group's value records reach the OS before the WAL record that points at them.
      if (valueBytes > 0) values!.flush();
    } catch (e) {
      // Nothing reached the WAL: the group fails alone (a broken value-log file is replaced by the next group).
      this.inFlightQ = undefined;
      this.rejectRange(q, start, end, e);
      return undefined;
    }
    let wantSync = false;
    for (let i = start; i < end; i++) wantSync ||= q[i]!.sync;
    try {
      this.wal.append(buf);
    } catch (e) {
      if (this.wal.brokenError !== undefined) this.fatal = readOnlyAfter(e);
      this.inFlightQ = undefined;
      this.rejectRange(q, start, end, e);
      return undefined;
    }
    this.stats.walBytesWritten += buf.length;
    if (!wantSync) {
      this.apply(q, buf, start, end, valueBytes);
      return undefined;
    }
    this.stats.syncs++;
    // Earlier groups' pointers are in the log too, so every value flushed so far must become durable with it.
    const synced = values !== undefined && values.needsSync ? bothSettled(values.sync(), this.wal.sync()) : this.wal.sync();
    return synced.then(
      () => {
        try {
          this.apply(q, buf, start, end, valueBytes);
        } catch (e) {
          this.fatal = e;
          this.inFlightQ = undefined;
          this.rejectRange(q, start, end, e);
        }
      },
      (e: unknown) => {
        this.wal.discardTail(buf.length);
        this.fatal = readOnlyAfter(e);
        this.inFlightQ = undefined;
        this.rejectRange(q, start, end, e);
      },
    );
  }

  /** Assigns sequence numbers and seals every record; one buffer for the group. */
  private seal(q: PendingWrite[], start: number, end: number): Uint8Array { // PA
    let total = 0;
    for (let i = start; i < end; i++) {
      const w = q[i]!;
      w.firstSeq = this.nextSeq;
      this.nextSeq += recordEntryCount(w.rec, 0);
      const values = this.values;
      if (values !== undefined && w.longest >= values.threshold) w.rec = separateValues(w.rec, values.threshold, w.firstSeq, values.store);
      sealWalRecord(w.rec, 0, w.rec.length - WAL_RECORD_HEADER_BYTES, w.firstSeq, this.wal.checksumSeed);
      total += w.rec.length;
    }
    if (end - start === 1) return q[start]!.rec;
    const buf = new Uint8Array(total);
    let at = 0;
    for (let i = start; i < end; i++) {
      buf.set(q[i]!.rec, at);
      at += q[i]!.rec.length;
    }
    return buf;
  }

  /** Applies the group's batches to the memtable (values are views into `buf`), then resolves them in order. */
  private apply(q: PendingWrite[], buf: Uint8Array, start: number, end: number, valueBytes: number): void { // PA
    // The memtable answers for the value-log bytes its pointers refer to: that bounds what recovery re-reads.
    if (valueBytes > 0) this.memtable.chargeValueLog(valueBytes);
    // A lone record is applied from its slab, so versions hold the slab, not a view per record.
    const base = end - start === 1 ? recordBase(buf) : buf;
    let at = buf.byteOffset - base.byteOffset;
    for (let i = start; i < end; i++) {
      const w = q[i]!;
      const len = w.rec.length;
      decodeBatchBody(base, at + WAL_RECORD_HEADER_BYTES, at + len, w.firstSeq, this.visit, undefined, true);
      at += len;
    }
    this.visibleSeq = this.nextSeq - 1;
    this.stats.groups++;
    this.stats.records += end - start;
    this.inFlightQ = undefined;
    let n = 0;
    for (let i = start; i < end; i++) {
      q[i]!.resolve();
      if (q[i]!.counted) n++;
    }
    this.noteSettled(n);
  }
}

/** Waits for both; rejects with the first failure (neither rejection goes unhandled). */
function bothSettled(a: Promise<void>, b: Promise<void>): Promise<void> { // A
  return Promise.allSettled([a, b]).then((r) => { // A
    for (const x of r) if (x.status === "rejected") throw x.reason;
  });
}

function readOnlyAfter(cause: unknown): OuroborosError { // A
  const errno = cause instanceof IOError ? cause.errno : undefined;
  return new IOError("write-ahead log", undefined, errno, {
    cause,
    detail: "an earlier write or fsync failed and left the log in an unknown state; the database is read-only until reopened",
  });
}
