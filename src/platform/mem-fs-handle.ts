/**
 * The handle and lock objects of MemFileSystem. They reach their file
 * system only through `MemHost` (count the call, check for a crash, number
 * an op), so every call on them is counted and can be the crash point.
 */
import { ClosedError, IOError } from "../errors.ts";
import type { FileHandle, FileLock } from "./fs.ts";
import { checkOffset, closedHandleWhat } from "./fs-checks.ts";
import { commitData, type DataOp, type Inode } from "./mem-fs-state.ts";

/** What handles and locks need from their file system, without reaching into its privates. */
export interface MemHost {
  tick(): void;
  checkAlive(): void;
  newSeq(): number;
}

export class MemFileHandle implements FileHandle {
  readonly path: string;
  private readonly inode: Inode;
  private readonly readOnly: boolean;
  private readonly host: MemHost;
  private closed = false;

  constructor(path: string, inode: Inode, readOnly: boolean, host: MemHost) { // A
    this.path = path;
    this.inode = inode;
    this.readOnly = readOnly;
    this.host = host;
  }

  read(into: Uint8Array, position: number): number { // A
    this.enter();
    checkOffset("read", this.path, "position", position);
    const bytes = this.inode.volatile.view();
    const n = Math.max(0, Math.min(into.length, bytes.length - position));
    into.set(bytes.subarray(position, position + n));
    return n;
  }

  write(data: Uint8Array, position: number): void { // A
    this.enterWritable("write");
    checkOffset("write", this.path, "position", position);
    this.record({ seq: this.host.newSeq(), kind: "write", position, data: data.slice() });
  }

  append(data: Uint8Array): void { // A
    this.enterWritable("append");
    this.record({ seq: this.host.newSeq(), kind: "write", position: this.inode.volatile.length, data: data.slice() });
  }

  truncate(sizeBytes: number): void { // A
    this.enterWritable("truncate");
    checkOffset("truncate", this.path, "sizeBytes", sizeBytes);
    this.record({ seq: this.host.newSeq(), kind: "truncate", sizeBytes });
  }

  size(): number { // A
    this.enter();
    return this.inode.volatile.length;
  }

  async sync(): Promise<void> { // PA
    this.enter();
    const last = this.inode.pending[this.inode.pending.length - 1];
    await Promise.resolve();
    // Power lost while the fsync was in flight: it did not happen.
    this.host.checkAlive();
    if (last !== undefined) commitData(this.inode, last.seq);
  }

  close(): void { // A
    this.host.tick();
    this.closed = true;
  }

  private record(op: DataOp): void { // A
    if (op.kind === "write") this.inode.volatile.write(op.position, op.data);
    else this.inode.volatile.truncate(op.sizeBytes);
    this.inode.pending.push(op);
  }

  private enter(): void { // A
    this.host.tick();
    if (this.closed) throw new ClosedError(closedHandleWhat(this.path));
  }

  private enterWritable(op: string): void { // A
    this.enter();
    if (this.readOnly) throw new IOError(op, this.path, "EBADF", { detail: "the handle was opened read-only" });
  }
}

export class MemFileLock implements FileLock {
  readonly path: string;
  private readonly onRelease: () => void;
  private readonly host: MemHost;
  private released = false;

  constructor(path: string, onRelease: () => void, host: MemHost) { // A
    this.path = path;
    this.onRelease = onRelease;
    this.host = host;
  }

  release(): void { // A
    this.host.tick();
    if (this.released) return;
    this.released = true;
    this.onRelease();
  }
}
