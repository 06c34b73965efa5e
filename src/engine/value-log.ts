/**
 * The database's value log (SPEC.md, "Value log"): values of
 * `valueThreshold` bytes or more live in `NNNNNN.vlog` files, and the LSM
 * holds a pointer to each (entry kind KIND_VALUE_POINTER). This module owns
 * the files: the active one written by the commit path, the read handles,
 * and the rules that keep pointers and bytes consistent:
 *
 * - a group's value records reach the OS (`flush`) before its WAL record,
 *   and are fsynced (`sync`) before a sync write resolves and before the
 *   memtable holding their pointers is sealed (so a flushed table never
 *   points at bytes a power loss could take);
 * - after a crash, replay checks every pointer of the logs it replays
 *   (`missing`): a record whose values did not survive ends the log there,
 *   like a torn write, so no pointer to lost bytes enters the tree. The
 *   memtable is charged for the value bytes its pointers refer to, which
 *   bounds that check to one memtable's worth;
 * - an open never appends to an existing file: it starts a new one when the
 *   first large value comes, so start-up reads no value-log file at all.
 *
 * Cost sketch: a large put costs one copy into the write buffer, a CRC32C
 * of the record (~1 GB/s here) and a share of one write call per group; a
 * read costs a handle lookup, one positional read and a CRC32C.
 */
import { assert, CorruptionError, NotFoundError } from "../errors.ts";
import type { FileHandle, FileSystem } from "../platform/fs.ts";
import { joinPath } from "../platform/fs.ts";
import type { Random } from "../platform/random.ts";
import { listDbFiles } from "./files.ts";
import { vlogFileName } from "./vlog/format.ts";
import { decodeValuePointer, encodeValuePointer, type ValuePointer } from "./vlog/pointer.ts";
import { readValue } from "./vlog/reader.ts";
import { ValueLogWriter } from "./vlog/writer.ts";
import type { ValueSink } from "./write-batch.ts";

/** Flushed bytes after which an fsync starts in the background (the disk writes back while commits go on). */
const BACKGROUND_SYNC_BYTES = 8 * 1024 * 1024;

export interface ValueLogConfig {
  fs: FileSystem;
  dir: string;
  /** Values of this many bytes or more go to the log. */
  threshold: number;
  /** A file that reaches this size is sealed and a new one started. */
  fileBytes: number;
  /** Hands out a file number (the version set's shared counter). */
  newFileNumber: () => number;
  random: Random;
  /** Read handles kept open (older ones are closed first). */
  maxOpenFiles: number;
}

export class ValueLog {
  private active: ValueLogWriter | undefined = undefined;
  /** Files filled up (or broken) since the last sync: the next sync covers, then closes them. */
  private sealed: ValueLogWriter[] = [];
  /** Every value-log file number on disk, ascending insertion. */
  private readonly present: Set<number>;
  /** Open read handles, least recently opened first. */
  private readonly handles = new Map<number, FileHandle>();
  private bytesWritten = 0;
  /** Records flushed since the last successful sync. */
  private unsynced = false;
  private flushedSinceSync = 0;
  private backgroundSync: Promise<void> | undefined = undefined;
  /** The first failed fsync: every later sync fails with it. */
  private syncFailure: unknown = undefined;
  private closed = false;

  /**
   * Files found at open that the next sync must fsync (with the directory):
   * a process killed before its fsync left their bytes in the OS only, and
   * replay may have accepted pointers to them.
   */
  private inherited: number[];

  private constructor(private readonly cfg: ValueLogConfig, existing: number[]) { // A
    this.present = new Set(existing);
    this.inherited = [...existing];
  }

  /** Lists the directory's value-log files; reads none of them. */
  static open(cfg: ValueLogConfig): ValueLog { // A
    return new ValueLog(cfg, listDbFiles(cfg.fs, cfg.dir).vlogs);
  }

  get threshold(): number { // A
    return this.cfg.threshold;
  }

  /** How many value-log files are on disk. */
  get fileCount(): number { // A
    return this.present.size;
  }

  /** Numbers of the value-log files on disk, ascending. */
  get fileNumbers(): number[] { // A
    return [...this.present].sort((a, b) => a - b); // A
  }

  /** Whether some flushed record is not yet covered by a sync. */
  get needsSync(): boolean { // A
    return this.unsynced || this.sealed.length > 0 || this.inherited.length > 0;
  }

  /** Number of the file new values go to, if one is open. */
  get activeFileNumber(): number | undefined { // A
    return this.active?.fileNumber;
  }

  /** Stops appending to the active file (between groups only); the next large value starts a new one. */
  sealActive(): void { // A
    const a = this.active;
    if (a === undefined) return;
    this.flush();
    if (this.active === a) this.retire(a);
  }

  /**
   * Deletes value-log file `n` (GC, once nothing can need it); returns its
   * size. A file already gone counts as deleted.
   */
  remove(n: number): number { // A
    assert(this.active?.fileNumber !== n, `value-log file ${n} is the active one`);
    // A sealed file not yet synced: its records are garbage now, so its durability no longer matters.
    for (const w of this.sealed.filter((x) => x.fileNumber === n)) w.close();
    this.sealed = this.sealed.filter((x) => x.fileNumber !== n);
    this.handles.get(n)?.close();
    this.handles.delete(n);
    const path = joinPath(this.cfg.dir, vlogFileName(n));
    const st = this.cfg.fs.stat(path);
    if (st !== undefined) this.cfg.fs.remove(path);
    this.present.delete(n);
    return st?.sizeBytes ?? 0;
  }

  /** Record bytes appended since open. */
  get appendedBytes(): number { // A
    return this.bytesWritten;
  }

  /** The separateValues sink: appends one record to the active file and returns the encoded pointer. */
  readonly store: ValueSink = (key: string, seq: number, value: Uint8Array): Uint8Array => { // PA
    const w = this.writer();
    const p = w.append(key, seq, value);
    this.bytesWritten += p.length;
    return encodeValuePointer(p);
  };

  /**
   * Hands every buffered record to the OS: the commit path calls it once per
   * group, before the group's WAL append. A failure breaks the active file
   * (its records of this group never get a WAL record: the committer
   * rejects the group) and the next value goes to a new file.
   */
  flush(): void { // PA
    const w = this.active;
    if (w === undefined || w.bufferedBytes === 0) return;
    const bytes = w.bufferedBytes;
    try {
      w.flush();
    } catch (e) {
      this.retire(w);
      throw e;
    }
    this.unsynced = true;
    this.flushedSinceSync += bytes;
    // Start an fsync in the background every BACKGROUND_SYNC_BYTES, so that the disk writes
    // back while the commit path goes on, and the sync a rotation must wait for is short.
    if (this.flushedSinceSync >= BACKGROUND_SYNC_BYTES && this.backgroundSync === undefined) {
      this.flushedSinceSync = 0;
      this.backgroundSync = w.sync().then(
        () => { this.backgroundSync = undefined; }, // A
        (err: unknown) => { // A
          this.syncFailure ??= err;
          this.backgroundSync = undefined;
        },
      );
    }
    if (w.size >= this.cfg.fileBytes) this.retire(w);
  }

  /**
   * Makes every flushed record durable: the files sealed since the last
   * sync, then the active one. After any failed fsync (here or in the
   * background) every later call fails with that error: the kernel may
   * have dropped the pages, so what is on disk is unknown.
   */
  async sync(): Promise<void> { // PA
    await this.backgroundSync;
    if (this.syncFailure !== undefined) throw this.syncFailure;
    this.unsynced = false;
    this.flushedSinceSync = 0;
    const sealed = this.sealed;
    this.sealed = [];
    try {
      await this.syncInherited();
      for (const w of sealed) await this.syncFile(w);
      const a = this.active;
      if (a !== undefined) await this.syncFile(a);
    } catch (e) {
      this.unsynced = true;
      this.sealed = sealed.concat(this.sealed);
      throw e;
    }
    for (const w of sealed) w.close();
  }

  /** fsyncs the files found at open, then the directory once (their names too may be in the OS only). */
  private async syncInherited(): Promise<void> { // PA
    if (this.inherited.length === 0) return;
    for (const n of this.inherited) {
      if (this.present.has(n)) await this.syncPath(joinPath(this.cfg.dir, vlogFileName(n)), false);
    }
    await this.syncPath(undefined, true);
    this.inherited = [];
  }

  /** Waits for a background fsync in flight (before closing). */
  async idle(): Promise<void> { // A
    await this.backgroundSync;
  }

  /**
   * fsyncs one file. A writer broken by a failed write still has records
   * whose writes succeeded (and pointers to them): they are synced through
   * a handle of our own. A failed fsync is remembered (see sync).
   */
  private async syncFile(w: ValueLogWriter): Promise<void> { // PA
    if (w.brokenError !== undefined) {
      // The writer may have broken before its first sync, which makes the file's name durable too.
      return this.syncPath(w.path, true);
    }
    try {
      await w.sync();
    } catch (e) {
      this.syncFailure ??= e;
      throw e;
    }
  }

  /** fsyncs `path` through a handle of our own (if given), then the directory (if asked); a failure is remembered (see sync). */
  private async syncPath(path: string | undefined, andDir: boolean): Promise<void> { // PA
    try {
      if (path !== undefined) {
        const h = this.cfg.fs.open(path);
        try {
          await h.sync();
        } finally {
          h.close();
        }
      }
      if (andDir) await this.cfg.fs.syncDir(this.cfg.dir);
    } catch (e) {
      this.syncFailure ??= e;
      throw e;
    }
  }

  /** The value `pointerBytes` (an entry of kind KIND_VALUE_POINTER of `key`) refers to, checked; CorruptionError if it is not there whole. */
  read(key: string, pointerBytes: Uint8Array): Uint8Array { // PA
    const p = decodeValuePointer(pointerBytes);
    return readValue(this.handle(p), p, key);
  }

  /**
   * Recovery's check of one replayed pointer: undefined if its record is on
   * disk whole, else why not (the caller ends the log's replay there).
   */
  missing(key: string, pointerBytes: Uint8Array): string | undefined { // PA
    try {
      this.read(key, pointerBytes);
      return undefined;
    } catch (e) {
      if (e instanceof CorruptionError) return `value-log record missing or damaged: ${e.message}`;
      throw e;
    }
  }

  /** Decodes a pointer (CorruptionError on malformed bytes). */
  pointer(pointerBytes: Uint8Array): ValuePointer { // A
    return decodeValuePointer(pointerBytes);
  }

  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    for (const w of this.sealed) w.close();
    this.sealed = [];
    this.active?.close();
    this.active = undefined;
    for (const h of this.handles.values()) h.close();
    this.handles.clear();
  }

  private writer(): ValueLogWriter { // A
    const a = this.active;
    if (a !== undefined && a.brokenError === undefined) return a;
    if (a !== undefined) this.retire(a);
    const n = this.cfg.newFileNumber();
    // Keep at most 1 MiB of write buffer between groups (the memory budget counts write buffers).
    const w = ValueLogWriter.create(this.cfg.fs, joinPath(this.cfg.dir, vlogFileName(n)), n, this.cfg.random.nextU32(), { bufferKeepBytes: 1024 * 1024 });
    this.present.add(n);
    this.active = w;
    return w;
  }

  /** Moves `w` out of the active slot; the next sync makes it durable (unless broken) and closes it. */
  private retire(w: ValueLogWriter): void { // A
    if (this.active === w) this.active = undefined;
    this.sealed.push(w);
  }

  /** A read handle on the pointer's file; CorruptionError if the file is gone. */
  private handle(p: ValuePointer): FileHandle { // A
    const cached = this.handles.get(p.fileNumber);
    if (cached !== undefined) return cached;
    const path = joinPath(this.cfg.dir, vlogFileName(p.fileNumber));
    let h: FileHandle;
    try {
      h = this.cfg.fs.open(path, { readOnly: true });
    } catch (e) {
      if (e instanceof NotFoundError) throw new CorruptionError(`value-log file ${vlogFileName(p.fileNumber)} is missing`, { file: path, offset: p.offset });
      throw e;
    }
    if (this.handles.size >= this.cfg.maxOpenFiles) {
      const oldest = this.handles.keys().next().value as number;
      this.handles.get(oldest)!.close();
      this.handles.delete(oldest);
    }
    this.handles.set(p.fileNumber, h);
    return h;
  }
}
