/**
 * Value-log garbage collection (SPEC.md 10.10). A value-log file holds the
 * records of versions that later writes, deletes and compaction made
 * garbage; compaction counts those bytes per file (the discard statistics
 * in the manifest). GC picks the file with the largest share of garbage,
 * moves its live records to the active file and, once nothing can need the
 * old file any more, deletes it.
 *
 * One step, run as a committer exclusive() task (no write commits while it
 * runs, so nothing can change a key between the check and the move):
 * 1. pick a file (any but the active one; if the active file has the most
 *    garbage it is sealed first, so it can be picked too);
 * 2. scan up to `stepBytes` of it from where the last step stopped;
 * 3. a record is live if the key's newest version points at exactly this
 *    record; each live value is read (checksum checked) and written again
 *    as a new version of its key, in one batch committed ahead of queued
 *    writes with sync (so the new pointers are durable before anything
 *    relies on them);
 * 4. at the end of the file it is retired. It is deleted only when (a) no
 *    WAL that recovery could replay still holds pointers into it (the log
 *    number has passed the log that was active at retirement: replay checks
 *    pointers and would stop at one into a missing file), and (b) no
 *    snapshot or iterator older than the retirement exists (they may read
 *    the older versions that point into it).
 * A file whose scan meets damage (not a torn tail) is never retired: its
 * records past the damage cannot be checked, so deleting it could lose
 * values; it is reported and skipped.
 *
 * Bounded work: a step reads at most `stepBytes` of records plus one value,
 * holds at most that many value bytes, and commits one batch. Cost: a scan
 * is ~1 GB/s (headers only), plus a point lookup per record and a checked
 * read and a rewrite per live value.
 */
import { CorruptionError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import { latin1ToBytes } from "../encoding/bytes.ts";
import type { ClusterLog } from "../log/clusterlog.ts";
import { joinPath, type FileHandle, type FileSystem } from "../platform/fs.ts";
import type { Committer } from "./committer.ts";
import { KIND_VALUE_POINTER } from "./memtable/memtable.ts";
import type { SnapshotList } from "./snapshot.ts";
import type { Tree } from "./tree/tree.ts";
import type { ValueLog } from "./value-log.ts";
import { VLOG_FILE_HEADER_BYTES, vlogFileName } from "./vlog/format.ts";
import { decodeValuePointer, samePointer } from "./vlog/pointer.ts";
import { readValue } from "./vlog/reader.ts";
import { ValueLogScanner } from "./vlog/scan.ts";
import { WriteBatch } from "./write-batch.ts";

export interface GcOptions {
  /** Share of a file's bytes that must be garbage for it to be rewritten (0 < r <= 1; default 0.5). */
  minGarbageRatio?: number;
  /** Record bytes to process in this call at most (default: until no file qualifies). */
  maxBytes?: number;
}

export interface GcReport {
  /** Files scanned to their end and retired in this call. */
  filesRetired: number;
  /** Files deleted while this call ran (retired by it or earlier; by it or by a background pass). */
  filesDeleted: number;
  /** Retired files still waiting for their deletion conditions. */
  filesWaiting: number;
  recordsScanned: number;
  recordsMoved: number;
  bytesMoved: number;
  /** Bytes of the files deleted. */
  bytesFreed: number;
  /** Damaged files GC skipped (it never deletes them). */
  problems: string[];
}

/** What a step needs of the database. */
export interface GcHost {
  fs: FileSystem;
  dir: string;
  tree: Tree;
  values: ValueLog;
  committer: Committer;
  snapshots: SnapshotList;
  log: ClusterLog;
  /** Highest sequence number visible to reads. */
  visibleSeq(): number;
}

interface Retired {
  fileNumber: number;
  /** The WAL that was active at retirement: logs up to it may hold pointers into the file. */
  afterLog: number;
  /** Snapshots below this may read versions that point into the file. */
  afterSeq: number;
}

/** Bytes of records one step scans at most. */
export const GC_STEP_BYTES = 4 * 1024 * 1024;
const DEFAULT_MIN_GARBAGE_RATIO = 0.5;

export function emptyGcReport(): GcReport { // A
  return { filesRetired: 0, filesDeleted: 0, filesWaiting: 0, recordsScanned: 0, recordsMoved: 0, bytesMoved: 0, bytesFreed: 0, problems: [] };
}

export class ValueLogGc {
  /** Where the next step resumes in a file being processed. */
  private readonly resumeAt = new Map<number, number>();
  private readonly retired: Retired[] = [];
  /** Files whose scan met damage: never picked again in this process. */
  private readonly damaged = new Set<number>();
  /** Since open: files deleted and their bytes (a call's report takes the difference, whoever deleted them). */
  deletedFiles = 0;
  deletedBytes = 0;

  constructor(private readonly h: GcHost) {} // A

  /** Files retired and not yet deleted. */
  get waiting(): number { // A
    return this.retired.length;
  }

  /** The file a step would work on, or undefined if none has `minRatio` garbage. */
  pick(minRatio: number): number | undefined { // A
    const { values } = this.h;
    const discard = this.h.tree.vs.vlogDiscard();
    const active = values.activeFileNumber;
    let best: number | undefined;
    let bestRatio = 0;
    for (const n of values.fileNumbers) {
      if (this.damaged.has(n) || this.retired.some((r) => r.fileNumber === n)) continue;
      // A file a step already started is finished first (its resume point is in memory).
      if (this.resumeAt.has(n)) return n;
      const size = this.h.fs.stat(joinPath(this.h.dir, vlogFileName(n)))?.sizeBytes ?? 0;
      const records = size - VLOG_FILE_HEADER_BYTES;
      if (records <= 0) continue;
      const ratio = Math.min(1, (discard.get(n) ?? 0) / records);
      if (ratio >= minRatio && ratio > bestRatio) {
        best = n;
        bestRatio = ratio;
      }
    }
    // The active file can be collected too: seal it, so new values go elsewhere.
    if (best !== undefined && best === active) values.sealActive();
    return best;
  }

  /**
   * One bounded step on `fileNumber` (call under committer.exclusive()).
   * Returns the record bytes it processed (0: nothing left to do there).
   */
  async step(fileNumber: number, report: GcReport, stepBytes = GC_STEP_BYTES): Promise<number> { // PA
    const { fs, dir, tree, values, committer } = this.h;
    const path = joinPath(dir, vlogFileName(fileNumber));
    const start = this.resumeAt.get(fileNumber) ?? VLOG_FILE_HEADER_BYTES;
    let handle: FileHandle;
    try {
      handle = fs.open(path, { readOnly: true });
    } catch (e) {
      if (!(e instanceof NotFoundError)) throw e;
      return this.skipDamaged(fileNumber, report, `${path}: value-log file is missing`, 0);
    }
    let processed = 0;
    const batch = new WriteBatch();
    let scan: ValueLogScanner;
    let unreadable: CorruptionError | undefined;
    try {
      // Every record's checksum is checked (~4 ms per 4 MiB step): with headers only, a damaged key byte
      // would make a live record look dead, and the file would be deleted with its value.
      scan = new ValueLogScanner(handle, path, fileNumber, { startOffset: start, verifyValues: true });
      const seq = this.h.visibleSeq();
      // Bounded by the file (the scanner stops at its size) and by stepBytes.
      for (let r = scan.next(); r !== undefined; r = processed >= stepBytes ? undefined : scan.next()) {
        processed += r.length;
        report.recordsScanned++;
        const e = tree.get(r.key, seq);
        if (e === undefined || e.kind !== KIND_VALUE_POINTER || !samePointer(decodeValuePointer(e.value!), r.pointer)) continue;
        let value: Uint8Array;
        try {
          value = readValue(handle, r.pointer, r.key);
        } catch (e) {
          // A live value that fails its checks cannot be moved: the file must stay.
          if (!(e instanceof CorruptionError)) throw e;
          unreadable = e;
          break;
        }
        batch.put(latin1ToBytes(r.key), value);
        report.recordsMoved++;
        report.bytesMoved += value.length;
      }
    } finally {
      handle.close();
    }
    if (batch.length > 0) await committer.commitNow(batch.toRecord(), true, batch.longestValueBytes);
    if (unreadable !== undefined) {
      return this.skipDamaged(fileNumber, report, `${path}: a live value is unreadable (${unreadable.message}); GC skips the file and never deletes it`, processed);
    }
    const end = scan.end;
    if (end === undefined) {
      this.resumeAt.set(fileNumber, scan.offset);
      return processed;
    }
    this.resumeAt.delete(fileNumber);
    if (end.status === "corrupt") {
      const why = `${path}: value-log file damaged at ${end.validEndBytes} (${end.error?.message ?? end.reason ?? "scan stopped"}); GC skips it and never deletes it`;
      return this.skipDamaged(fileNumber, report, why, processed);
    }
    // Logs up to the active one may hold pointers into the file, unless the active log is
    // empty (an empty memtable and none sealed: it holds no record at all).
    const wal = tree.activeWal;
    const rs = tree.readState;
    const logNumber = wal === undefined ? 0 : wal.logNumber;
    const emptyLog = rs.mem.versionCount === 0 && rs.imms.length === 0;
    this.retired.push({ fileNumber, afterLog: emptyLog ? logNumber - 1 : logNumber, afterSeq: this.h.visibleSeq() });
    report.filesRetired++;
    this.h.log.info("vlog.gc.retired", { file: path, moved: report.recordsMoved });
    return Math.max(processed, 1);
  }

  /** Marks a file GC must never pick again in this process, reports why; the step counts as work (so GC goes on to other files). */
  private skipDamaged(fileNumber: number, report: GcReport, why: string, processed: number): number { // A
    this.damaged.add(fileNumber);
    this.resumeAt.delete(fileNumber);
    report.problems.push(why);
    this.h.log.error("vlog.gc.damaged", { file: vlogFileName(fileNumber), why });
    return Math.max(processed, 1);
  }

  /**
   * Deletes every retired file whose conditions hold, then drops its
   * statistics from the manifest (an edit; a crash in between leaves a
   * total for a missing file, which nothing reads). Returns how many.
   */
  async deleteRetired(): Promise<number> { // A
    const logNumber = this.h.tree.vs.logNumber;
    const oldest = this.h.snapshots.oldest();
    // The log active at retirement may still be the active one; if it holds nothing now, it held no pointer then.
    const rs = this.h.tree.readState;
    const activeLog = this.h.tree.activeWal?.logNumber;
    const activeEmpty = rs.mem.versionCount === 0 && rs.imms.length === 0;
    const logFree = (r: Retired): boolean => logNumber > r.afterLog || (activeEmpty && activeLog === r.afterLog); // A
    // Taken off the list before the first await, so two callers never delete one file twice.
    const due = this.retired.filter((r) => logFree(r) && (oldest === undefined || oldest >= r.afterSeq));
    if (due.length === 0) return 0;
    for (const r of due) this.retired.splice(this.retired.indexOf(r), 1);
    for (const r of due) {
      this.deletedBytes += this.h.values.remove(r.fileNumber);
      this.deletedFiles++;
    }
    for (const r of due) await this.h.tree.vs.forgetValueLogFile(r.fileNumber);
    return due.length;
  }

  /** Whether some retired file waits only for the WAL to move on (a flush would free it). */
  get needsFlush(): boolean { // A
    const logNumber = this.h.tree.vs.logNumber;
    return this.retired.some((r) => logNumber <= r.afterLog);
  }
}

/** The garbage ratio option, checked: a number in (0, 1]. */
export function gcRatio(o: GcOptions | undefined): number { // A
  const r = o?.minGarbageRatio ?? DEFAULT_MIN_GARBAGE_RATIO;
  if (typeof r !== "number" || !(r > 0 && r <= 1)) throw new InvalidArgumentError(`minGarbageRatio must be a number in (0, 1], got ${String(r)}`);
  return r;
}

/** The byte budget option, checked: a positive number (Infinity allowed). */
export function gcBudget(o: GcOptions | undefined): number { // A
  const b = o?.maxBytes ?? Number.POSITIVE_INFINITY;
  if (typeof b !== "number" || !(b > 0)) throw new InvalidArgumentError(`maxBytes must be a positive number, got ${String(b)}`);
  return b;
}
