/**
 * The background worker: one async loop that flushes sealed memtables
 * (oldest first, always before anything else) and runs the compactions the
 * strategy picks, and, on request, manual compactions (db.compact) and
 * bounded idle steps (db.maintain). One job at a time, so no two jobs ever
 * touch the same files and every edit applies to the version it was planned
 * on.
 *
 * Writers that must wait (a stall) and callers of flush/compact wait on
 * the worker's progress: after every job the waiters re-check their
 * condition. If the loop stops with an error while a waiter's condition
 * still does not hold, the waiter gets that error (typed, e.g. an IOError
 * for a full disk), and the next wait starts the loop again; nothing is lost
 * by a failed job (its outputs are removed, its inputs stay live).
 */
import { BudgetExceededError, ClosedError } from "../../errors.ts";
import type { ClusterLog } from "../../log/clusterlog.ts";
import { yieldToEventLoop } from "../../platform/yield.ts";
import type { TableCache } from "../cache/table-cache.ts";
import { inputBytes, ManualCompaction, pickerFor, runCompaction, type CompactionPicker, type CompactionTask, type KeyRange } from "../compaction/index.ts";
import type { VersionSet } from "../manifest/version-set.ts";
import type { ResolvedOptions } from "../options.ts";
import type { SnapshotList } from "../snapshot.ts";
import type { TableOutputContext } from "../sstable/table-output.ts";
import type { TableReader } from "../sstable/table-reader.ts";
import type { ReadState } from "./read-state.ts";

/** What the worker needs of the tree. */
export interface WorkerHost {
  readonly options: ResolvedOptions;
  readonly log: ClusterLog;
  readonly vs: VersionSet;
  readonly snapshots: SnapshotList;
  readonly tables: TableCache<TableReader>;
  readonly readState: ReadState;
  readonly isClosed: boolean;
  flushOldest(): Promise<void>;
  outputContext(): TableOutputContext;
  publishVersion(): void;
  removeObsoleteFiles(): void;
}

/** Entries merged between yields to the event loop during a compaction. */
const COMPACTION_SLICE_ENTRIES = 4096;

export interface WorkerCounters {
  compactions: number;
  trivialMoves: number;
  compactionBytesRead: number;
  compactionBytesWritten: number;
  /** Versions dropped by compaction (shadowed, or deleted at the bottom). */
  droppedEntries: number;
  failures: number;
}

interface ManualRequest {
  m: ManualCompaction;
  idle: boolean;
  resolve: (didWork: boolean) => void;
  reject: (e: unknown) => void;
  didWork: boolean;
}

export class Worker {
  readonly picker: CompactionPicker;
  readonly counters: WorkerCounters = { compactions: 0, trivialMoves: 0, compactionBytesRead: 0, compactionBytesWritten: 0, droppedEntries: 0, failures: 0 };
  /** The error that stopped the loop last, until a later job succeeds. */
  lastError: unknown = undefined;
  private running: Promise<void> | undefined = undefined;
  private again = false;
  private stopped = false;
  private waiters: Array<() => void> = [];
  private manual: ManualRequest[] = [];

  constructor(private readonly host: WorkerHost) { // A
    this.picker = pickerFor(host.options.compaction);
  }

  /** Starts the loop if it is not running (or makes it look again if it is). */
  schedule(): void { // A
    if (this.stopped || this.host.vs.readOnly) return;
    if (this.running !== undefined) {
      this.again = true;
      return;
    }
    this.running = this.loop();
  }

  /** Whether writes must wait for compaction (the strategy's sorted-run limit). */
  mustStall(): boolean { // A
    return this.picker.mustStall(this.host.readState.version, this.host.options);
  }

  /** Runs background work until `done()` holds; rejects if the loop stops (error, close) while it does not. */
  runUntil(done: () => boolean): Promise<void> { // A
    if (done()) return Promise.resolve();
    this.lastError = undefined;
    this.schedule();
    return new Promise<void>((resolve, reject) => {
      const check = (): void => { // A
        if (done()) return resolve();
        if (this.stopped) return reject(new ClosedError());
        if (this.running === undefined) {
          return reject(this.lastError ?? new BudgetExceededError("background work stopped before there was room (flush or compaction made no progress)"));
        }
        this.waiters.push(check);
      };
      check();
    });
  }

  /** Queues a manual compaction of `range` (or, with idle, one bounded idle step); resolves whether any work was done. */
  compact(range: KeyRange | undefined, idle: boolean): Promise<boolean> { // A
    if (this.stopped) return Promise.reject(new ClosedError());
    return new Promise<boolean>((resolve, reject) => {
      this.manual.push({ m: new ManualCompaction(range ?? {}), idle, resolve, reject, didWork: false });
      this.schedule();
    });
  }

  /** Stops the loop after the job in progress (which sees the tree closing and gives up). */
  async stop(): Promise<void> { // A
    this.stopped = true;
    await this.running;
    for (const r of this.manual.splice(0)) r.reject(new ClosedError());
    this.notify();
  }

  private notify(): void { // A
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  private async loop(): Promise<void> { // PA
    try {
      for (let guard = 0; !this.stopped; guard++) {
        this.again = false;
        let did: boolean;
        try {
          did = await this.step();
          if (did) this.lastError = undefined;
        } catch (e) {
          if (!this.stopped) {
            this.lastError = e;
            this.counters.failures++;
            this.host.log.error("background.failed", { error: String(e) });
            // The loop stops here: every queued compact()/maintain() learns why, none waits for a loop that is gone.
            for (const r of this.manual.splice(0)) r.reject(e);
          }
          break;
        }
        this.notify();
        if (!did && !this.again) break;
        // Long runs of work still hand the event loop back between jobs.
        if (guard % 16 === 15) await yieldToEventLoop();
      }
    } finally {
      this.running = undefined;
      this.notify();
    }
  }

  /** One job: a flush, a manual/idle step, or a picked compaction. Returns whether it did anything. */
  private async step(): Promise<boolean> { // PA
    const h = this.host;
    if (h.readState.imms.length > 0) {
      await h.flushOldest();
      return true;
    }
    const v = h.readState.version;
    const req = this.manual[0];
    if (req !== undefined) {
      const task = req.idle ? (req.didWork ? undefined : this.picker.pickIdle(v, h.options)) : this.picker.pickManual(v, h.options, req.m);
      if (task === undefined) {
        this.manual.shift();
        req.resolve(req.didWork);
        return true;
      }
      await this.runTask(task);
      req.didWork = true;
      return true;
    }
    const task = this.picker.pick(v, h.options, (level) => h.vs.compactPointer(level)); // A
    if (task === undefined) return false;
    await this.runTask(task);
    return true;
  }

  private async runTask(task: CompactionTask): Promise<void> { // PA
    const h = this.host;
    const res = await runCompaction(task, {
      ...h.outputContext(),
      tables: h.tables,
      snapshots: h.snapshots.sequences(),
      yieldEvery: COMPACTION_SLICE_ENTRIES,
      pause: yieldToEventLoop,
      isCancelled: () => h.isClosed, // A
    });
    if (h.isClosed) {
      // Closing while the merge finished: nothing refers to the outputs yet.
      res.outputs.abandon();
      throw new ClosedError("database (compaction cancelled)");
    }
    // A failed edit has an unknown fate: the outputs stay (pending) until reopen sorts it out.
    await h.vs.logAndApply(res.edit);
    res.outputs.releasePending();
    const c = this.counters;
    if (task.trivialMove) c.trivialMoves++;
    else c.compactions++;
    c.compactionBytesRead += task.trivialMove ? 0 : inputBytes(task);
    c.compactionBytesWritten += res.stats.outputBytes;
    c.droppedEntries += res.stats.dropped;
    h.log.debug("compaction.done", { reason: task.reason, outputLevel: task.outputLevel, ...res.stats });
    h.publishVersion();
    h.removeObsoleteFiles();
  }
}
