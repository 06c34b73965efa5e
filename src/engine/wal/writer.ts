/**
 * Appends sealed records to one WAL file. The writer tracks the logical end
 * of the log itself; when an append fails part-way (EIO, ENOSPC, short
 * write), it cuts the file back to that end so the log never holds garbage
 * in front of later records. If even that fails the writer is broken and
 * refuses further appends: the database then stays read-only until it is
 * reopened, and recovery treats the tail as torn.
 *
 * Durability: `append` returns once the bytes are in the OS (they survive a
 * process kill); `sync` fsyncs the file, and the first sync of a new log also
 * syncs the directory so the log's name survives a power loss.
 */
import { IOError } from "../../errors.ts";
import type { FileHandle, FileSystem } from "../../platform/fs.ts";
import { joinPath } from "../../platform/fs.ts";
import { checksumSeedOf, encodeWalFileHeader, walFileName, WAL_FILE_HEADER_BYTES } from "./format.ts";

export class WalWriter {
  readonly path: string;
  readonly logNumber: number;
  /** Starting value of every record checksum in this log (from its salt). */
  readonly checksumSeed: number;
  private sizeBytes: number;
  private dirDurable: boolean;
  private broken: unknown = undefined;
  private closed = false;

  private constructor( // A
    private readonly fs: FileSystem,
    private readonly dir: string,
    private readonly handle: FileHandle,
    logNumber: number,
    checksumSeed: number,
    sizeBytes: number,
    dirDurable: boolean,
  ) {
    this.path = handle.path;
    this.logNumber = logNumber;
    this.checksumSeed = checksumSeed;
    this.sizeBytes = sizeBytes;
    this.dirDurable = dirDurable;
  }

  /** Creates a new, empty log file with a random `salt` (header written, not yet synced). */
  static create(fs: FileSystem, dir: string, logNumber: number, salt: number): WalWriter { // PA
    const path = joinPath(dir, walFileName(logNumber));
    const handle = fs.open(path, { create: true, exclusive: true });
    try {
      handle.write(encodeWalFileHeader(logNumber, salt), 0);
    } catch (e) {
      handle.close();
      try { fs.remove(path); } catch { /* best effort: a header-less log is ignored by recovery */ }
      throw e;
    }
    return new WalWriter(fs, dir, handle, logNumber, checksumSeedOf(salt), WAL_FILE_HEADER_BYTES, false);
  }

  /**
   * Continues an existing log whose valid data ends at `validEndBytes`
   * (recovery found it); anything after that is cut off first. The first
   * sync also syncs the directory: a process that crashed before any sync
   * may have left the log's name not yet durable.
   */
  static reopen(fs: FileSystem, dir: string, logNumber: number, checksumSeed: number, validEndBytes: number): WalWriter { // PA
    const path = joinPath(dir, walFileName(logNumber));
    const handle = fs.open(path);
    try {
      if (handle.size() !== validEndBytes) handle.truncate(validEndBytes);
    } catch (e) {
      handle.close();
      throw e;
    }
    return new WalWriter(fs, dir, handle, logNumber, checksumSeed, validEndBytes, false);
  }

  /** Bytes in the log, header included. */
  get size(): number { // A
    return this.sizeBytes;
  }

  /** Whether an earlier failure left the file in an unknown state. */
  get brokenError(): unknown { // A
    return this.broken;
  }

  /** Writes sealed records at the end of the log; all or (as far as possible) nothing. */
  append(records: Uint8Array): void { // PA
    if (this.broken !== undefined) throw this.broken;
    if (this.closed) throw new IOError("append", this.path, undefined, { detail: "log is closed" });
    try {
      this.handle.write(records, this.sizeBytes);
    } catch (e) {
      this.cutBack(e);
      throw e;
    }
    this.sizeBytes += records.length;
  }

  /** Fsyncs the log (and, the first time, its directory). */
  async sync(): Promise<void> { // PA
    if (this.broken !== undefined) throw this.broken;
    try {
      await this.handle.sync();
      if (!this.dirDurable) {
        await this.fs.syncDir(this.dir);
        this.dirDurable = true;
      }
    } catch (e) {
      // After a failed fsync the kernel may have dropped dirty pages: the state
      // of the file is unknown, so stop writing to it (PostgreSQL's lesson).
      this.broken = e;
      throw e;
    }
  }

  /**
   * Removes the last `bytes` bytes (records of a group whose fsync failed)
   * so that they do not come back at recovery. Best effort.
   */
  discardTail(bytes: number): void { // PA
    try {
      this.handle.truncate(this.sizeBytes - bytes);
      this.sizeBytes -= bytes;
    } catch {
      /* the writer is already broken; recovery may replay those records (outcome unknown to the caller) */
    }
  }

  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    this.handle.close();
  }

  private cutBack(cause: unknown): void { // PA
    try {
      this.handle.truncate(this.sizeBytes);
    } catch {
      this.broken = cause;
    }
  }
}
