/**
 * NodeFileSystem: the FileSystem seam over node:fs, the one real disk the
 * engine writes to. It runs unchanged on Node, Bun and Deno (all three
 * implement these node:fs calls).
 *
 * Reads and writes are synchronous positional calls (a few us each); only
 * fsync of a file or a directory is asynchronous, because only it waits for
 * the device (see fs.ts for the cost sketch). `append()` never uses O_APPEND:
 * each handle keeps its own size counter and writes at that position, so an
 * append is an ordinary positional write whose offset we know and can log.
 * That assumes one writing handle per file, which is how the engine works
 * (one WAL writer, immutable tables).
 */
import * as fs from "node:fs";
import { ClosedError, IOError } from "../errors.ts";
import type { FileHandle, FileLock, FileStat, FileSystem, OpenOptions } from "./fs.ts";
import { checkOffset, checkOpenOptions, closedHandleWhat } from "./fs-checks.ts";
import { errnoOf, mapNodeError } from "./node-error.ts";
import { takeNodeLock } from "./node-lock.ts";

/** Errors of platforms that cannot open or fsync a directory; there the rename is as durable as it gets. */
const DIR_SYNC_UNSUPPORTED = new Set(["EISDIR", "EINVAL", "EPERM"]);

/** fsync through the callback API, which Node, Bun and Deno all provide. */
function fsyncFd(fd: number): Promise<void> { // A
  return new Promise((resolve, reject) => {
    fs.fsync(fd, (err) => (err ? reject(err) : resolve()));
  });
}

/** Closes an fd on a path that already failed or only read; a second error would hide the first. */
function closeQuietly(fd: number): void { // A
  try {
    fs.closeSync(fd);
  } catch {
    // The fd is gone either way; the caller reports the error that matters.
  }
}

function openFlags(options: OpenOptions): number { // A
  const c = fs.constants;
  if (options.readOnly === true) return c.O_RDONLY;
  let flags = c.O_RDWR;
  if (options.create === true || options.exclusive === true) flags |= c.O_CREAT;
  if (options.exclusive === true) flags |= c.O_EXCL;
  if (options.truncate === true) flags |= c.O_TRUNC;
  return flags;
}

class NodeFileHandle implements FileHandle {
  readonly path: string;
  private readonly fd: number;
  private readonly readOnly: boolean;
  /** Where the next append goes; kept here so append is positional. */
  private sizeBytes: number;
  private closed = false;
  /** fsyncs still running; the fd is closed only after the last one ends, so it is never reused under them. */
  private syncsInFlight = 0;

  constructor(path: string, fd: number, sizeBytes: number, readOnly: boolean) { // A
    this.path = path;
    this.fd = fd;
    this.sizeBytes = sizeBytes;
    this.readOnly = readOnly;
  }

  read(into: Uint8Array, position: number): number { // A
    this.checkOpen();
    checkOffset("read", this.path, "position", position);
    let done = 0;
    // Each pass reads at least one byte or stops at end of file: bounded by into.length.
    while (done < into.length) {
      let n: number;
      try {
        n = fs.readSync(this.fd, into, done, into.length - done, position + done);
      } catch (err) {
        throw mapNodeError("read", this.path, err);
      }
      if (n === 0) break;
      done += n;
    }
    return done;
  }

  write(data: Uint8Array, position: number): void { // PA
    this.checkWritable("write");
    checkOffset("write", this.path, "position", position);
    let done = 0;
    // Short writes are continued; each pass must make progress, so the loop is bounded by data.length.
    while (done < data.length) {
      let n: number;
      try {
        n = fs.writeSync(this.fd, data, done, data.length - done, position + done);
      } catch (err) {
        throw mapNodeError("write", this.path, err);
      }
      if (n <= 0) {
        throw new IOError("write", this.path, "EIO", { detail: `no progress after ${done} of ${data.length} bytes` });
      }
      done += n;
    }
    this.sizeBytes = Math.max(this.sizeBytes, position + data.length);
  }

  append(data: Uint8Array): void { // PA
    this.write(data, this.sizeBytes);
  }

  truncate(sizeBytes: number): void { // A
    this.checkWritable("truncate");
    checkOffset("truncate", this.path, "sizeBytes", sizeBytes);
    try {
      fs.ftruncateSync(this.fd, sizeBytes);
    } catch (err) {
      throw mapNodeError("truncate", this.path, err);
    }
    this.sizeBytes = sizeBytes;
  }

  /** Asks the OS, so a reader sees what another handle appended since it opened. */
  size(): number { // A
    this.checkOpen();
    try {
      return fs.fstatSync(this.fd).size;
    } catch (err) {
      throw mapNodeError("size", this.path, err);
    }
  }

  async sync(): Promise<void> { // PA
    this.checkOpen();
    this.syncsInFlight++;
    let failure: unknown;
    try {
      await fsyncFd(this.fd);
    } catch (err) {
      failure = mapNodeError("sync", this.path, err);
    }
    this.syncsInFlight--;
    // A close() that arrived while we waited was deferred to us; its failure is reported here.
    if (this.closed && this.syncsInFlight === 0) failure ??= this.closeFd();
    if (failure !== undefined) throw failure;
  }

  close(): void { // A
    if (this.closed) return;
    this.closed = true;
    if (this.syncsInFlight > 0) return;
    const failure = this.closeFd();
    if (failure !== undefined) throw failure;
  }

  private closeFd(): Error | undefined { // A
    try {
      fs.closeSync(this.fd);
      return undefined;
    } catch (err) {
      return mapNodeError("close", this.path, err);
    }
  }

  private checkOpen(): void { // A
    if (this.closed) throw new ClosedError(closedHandleWhat(this.path));
  }

  private checkWritable(op: string): void { // A
    this.checkOpen();
    if (this.readOnly) throw new IOError(op, this.path, "EBADF", { detail: "the handle was opened read-only" });
  }
}

export class NodeFileSystem implements FileSystem {
  open(path: string, options: OpenOptions = {}): FileHandle { // A
    checkOpenOptions(path, options);
    let fd: number;
    try {
      fd = fs.openSync(path, openFlags(options));
    } catch (err) {
      throw mapNodeError("open", path, err);
    }
    try {
      const st = fs.fstatSync(fd);
      // Linux lets a directory be opened read-only; a file handle on it would only fail later, so fail now.
      if (st.isDirectory()) throw new IOError("open", path, "EISDIR", { detail: "a directory is not a file" });
      return new NodeFileHandle(path, fd, st.size, options.readOnly === true);
    } catch (err) {
      closeQuietly(fd);
      throw mapNodeError("open", path, err);
    }
  }

  readFile(path: string): Uint8Array { // A
    const handle = this.open(path, { readOnly: true });
    try {
      const sizeBytes = handle.size();
      const out = new Uint8Array(sizeBytes);
      const n = handle.read(out, 0);
      return n === sizeBytes ? out : out.slice(0, n);
    } finally {
      handle.close();
    }
  }

  rename(from: string, to: string): void { // A
    try {
      fs.renameSync(from, to);
    } catch (err) {
      if (errnoOf(err) === "ENOENT") throw mapNodeError(`rename to ${to}`, from, err);
      throw mapNodeError("rename", `${from} -> ${to}`, err);
    }
  }

  remove(path: string): void { // A
    try {
      // Deno's unlink also removes empty directories; this API removes files only, everywhere.
      if (fs.lstatSync(path).isDirectory()) {
        throw new IOError("remove", path, "EISDIR", { detail: "remove deletes files, not directories" });
      }
      fs.unlinkSync(path);
    } catch (err) {
      throw mapNodeError("remove", path, err);
    }
  }

  list(dir: string): string[] { // A
    try {
      return fs.readdirSync(dir).sort();
    } catch (err) {
      throw mapNodeError("list", dir, err);
    }
  }

  mkdir(path: string, options: { recursive?: boolean } = {}): void { // A
    try {
      fs.mkdirSync(path, { recursive: options.recursive === true });
    } catch (err) {
      if (errnoOf(err) === "EEXIST" && this.stat(path)?.isDirectory === true) return;
      throw mapNodeError("mkdir", path, err);
    }
  }

  stat(path: string): FileStat | undefined { // A
    try {
      const st = fs.statSync(path);
      return { sizeBytes: st.size, isDirectory: st.isDirectory() };
    } catch (err) {
      const errno = errnoOf(err);
      if (errno === "ENOENT" || errno === "ENOTDIR") return undefined;
      throw mapNodeError("stat", path, err);
    }
  }

  async syncDir(path: string): Promise<void> { // PA
    let fd: number;
    try {
      fd = fs.openSync(path, fs.constants.O_RDONLY);
    } catch (err) {
      if (DIR_SYNC_UNSUPPORTED.has(errnoOf(err) ?? "")) return;
      throw mapNodeError("syncDir", path, err);
    }
    try {
      await fsyncFd(fd);
    } catch (err) {
      if (!DIR_SYNC_UNSUPPORTED.has(errnoOf(err) ?? "")) throw mapNodeError("syncDir", path, err);
    } finally {
      closeQuietly(fd);
    }
  }

  lock(path: string): FileLock { // PA
    return takeNodeLock(path);
  }
}

let shared: NodeFileSystem | undefined;

/** The process-wide NodeFileSystem (it holds no state of its own; locks are process-wide anyway). */
export function nodeFileSystem(): NodeFileSystem { // A
  shared ??= new NodeFileSystem();
  return shared;
}
