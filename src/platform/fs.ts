/**
 * The file-system seam. Everything above `src/platform/` reaches files only
 * through these interfaces, so the same engine code runs on node:fs (Node,
 * Bun, Deno), on the crashable in-memory FS of the tests and simulator, and
 * behind the fault-injecting wrapper.
 *
 * Cost sketch: an awaited async node:fs call costs 60-164 us here (thread
 * pool), a positional synchronous call a few us. So reads, writes and
 * appends are synchronous; only the calls that wait for the device (fsync
 * of a file or a directory) are asynchronous, so the event loop keeps
 * serving while the disk flushes.
 *
 * Paths use "/" as separator. Every failure is an `IOError` (with `errno`
 * such as "EIO" or "ENOSPC"), a `NotFoundError` or a `LockedError`.
 */

export interface OpenOptions {
  /** Create the file if it does not exist (default false). */
  create?: boolean;
  /** Fail with an IOError (errno "EEXIST") if the file exists (implies create). */
  exclusive?: boolean;
  /** Truncate to zero length on open (default false). */
  truncate?: boolean;
  /** Open for reading only (default false). */
  readOnly?: boolean;
}

export interface FileStat {
  sizeBytes: number;
  isDirectory: boolean;
}

export interface FileHandle {
  readonly path: string;
  /**
   * Positional read into `into` starting at file offset `position`.
   * Returns the number of bytes read; fewer than `into.length` only at end of file.
   */
  read(into: Uint8Array, position: number): number;
  /** Positional write of all of `data` at `position` (short writes are retried or thrown). */
  write(data: Uint8Array, position: number): void;
  /** Appends all of `data` at the end of the file. */
  append(data: Uint8Array): void;
  /** Sets the file length. */
  truncate(sizeBytes: number): void;
  /** Current length in bytes. */
  size(): number;
  /** Makes the file's data durable (fsync). */
  sync(): Promise<void>;
  /** Closes the handle; further calls throw. Idempotent. */
  close(): void;
}

/** An exclusive lock on a database directory, held until released. */
export interface FileLock {
  readonly path: string;
  release(): void;
}

export interface FileSystem {
  open(path: string, options?: OpenOptions): FileHandle;
  /** Reads a whole (small) file. */
  readFile(path: string): Uint8Array;
  /** Atomically replaces `to` with `from` (POSIX rename). Durable after syncDir of the parent. */
  rename(from: string, to: string): void;
  /** Removes a file; NotFoundError if missing. */
  remove(path: string): void;
  /** Names (not paths) of the entries of a directory, sorted. */
  list(dir: string): string[];
  /** Creates a directory (and parents with recursive). Existing directory is not an error. */
  mkdir(path: string, options?: { recursive?: boolean }): void;
  /** Stat, or undefined when the path does not exist. */
  stat(path: string): FileStat | undefined;
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDir(path: string): Promise<void>;
  /**
   * Takes an exclusive lock named by `path` (a lock file), across processes
   * and within this process. Throws LockedError if someone else holds it.
   */
  lock(path: string): FileLock;
}

/** Joins path segments with "/" (the only separator the engine uses). */
export function joinPath(...parts: string[]): string { // A
  return parts.filter((p) => p.length > 0).join("/").replace(/\/{2,}/g, "/");
}

/** The parent directory of a path ("." for a bare name). */
export function dirName(path: string): string { // A
  const at = path.lastIndexOf("/");
  if (at < 0) return ".";
  if (at === 0) return "/";
  return path.slice(0, at);
}

/** The last segment of a path. */
export function baseName(path: string): string { // A
  const at = path.lastIndexOf("/");
  return at < 0 ? path : path.slice(at + 1);
}
