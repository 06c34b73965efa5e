/**
 * FaultFileSystem: wraps any FileSystem and fails chosen calls on purpose,
 * so tests can prove that every I/O error is reported and nothing is lost
 * (the way SQLite tests an I/O error at every call).
 *
 * A rule names an op, optionally a path substring, and when to fire: on the
 * `nth` matching call after it was injected (default 1), once, or on every
 * matching call from then on with `every`. Each rule counts its own matches;
 * when several are due on one call the oldest fires and the others stay due
 * for the next matching call. A fault is an IOError(op, path, errno); a
 * failed sync or syncDir never reaches the inner FS, so nothing it would
 * have made durable becomes durable. `shortWrite` first writes a prefix of
 * the data to the inner file, then throws; `bitFlip` lets a read succeed
 * with one bit of the returned bytes flipped. Random choices (which prefix,
 * which bit) come from a seeded generator: the same rules and seed replay
 * the same faults.
 */
import { InvalidArgumentError, IOError } from "../errors.ts";
import type { FileHandle, FileLock, FileStat, FileSystem, OpenOptions } from "./fs.ts";
import { SeededRandom } from "./random.ts";

export type FaultOp =
  | "open" | "readFile" | "rename" | "remove" | "list" | "mkdir" | "stat" | "syncDir" | "lock"
  | "read" | "write" | "append" | "truncate" | "size" | "sync" | "close";

export interface FaultRule {
  op: FaultOp;
  /** Fire on the nth matching call from now, 1-based (default 1). */
  nth?: number;
  /** Keep firing on every matching call once the nth is reached. */
  every?: boolean;
  /** Match only calls whose path contains this string (rename matches on either path). */
  pathIncludes?: string;
  /** The errno of the IOError thrown (default "EIO"). */
  error?: string;
  /** For write and append: write this many leading bytes (true: a random strict prefix) to the inner file, then throw. */
  shortWrite?: true | number;
  /** For read and readFile: succeed, but flip one random bit of the bytes returned. No error is thrown. */
  bitFlip?: true;
}

/** A rule once injected: how often it has matched and fired. */
export interface InjectedFault {
  readonly rule: Readonly<FaultRule>;
  readonly matched: number;
  readonly fired: number;
}

interface RuleState {
  rule: FaultRule;
  matched: number;
  fired: number;
}

/** What a matching call must do. */
type Fault = { kind: "error"; errno: string } | { kind: "short"; errno: string; bytes: number | undefined } | { kind: "flip" };

export class FaultFileSystem implements FileSystem {
  readonly inner: FileSystem;
  private rules: RuleState[] = [];
  private readonly rnd: SeededRandom;
  private readonly callsByOp = new Map<FaultOp, number>();
  private readonly firedByOp = new Map<FaultOp, number>();

  constructor(inner: FileSystem, options: { seed?: number } = {}) { // A
    this.inner = inner;
    this.rnd = new SeededRandom(options.seed ?? 0);
  }

  /** Adds a rule; the returned object's counters stay live. */
  inject(rule: FaultRule): InjectedFault { // A
    const nth = rule.nth ?? 1;
    if (!Number.isSafeInteger(nth) || nth < 1) throw new InvalidArgumentError(`inject: nth must be an integer >= 1, got ${nth}`);
    const state: RuleState = { rule: { ...rule }, matched: 0, fired: 0 };
    this.rules.push(state);
    return state;
  }

  /** Removes every rule (counters of calls and faults are kept). */
  clear(): void { // A
    this.rules = [];
  }

  /** Calls seen per op, faulted or not. */
  calls(op: FaultOp): number { // A
    return this.callsByOp.get(op) ?? 0;
  }

  /** Faults fired, for one op or in total. */
  faultsFired(op?: FaultOp): number { // A
    if (op !== undefined) return this.firedByOp.get(op) ?? 0;
    let total = 0;
    for (const n of this.firedByOp.values()) total += n;
    return total;
  }

  open(path: string, options?: OpenOptions): FileHandle { // A
    this.throwIfFault("open", path);
    return new FaultFileHandle(this, this.inner.open(path, options));
  }

  readFile(path: string): Uint8Array { // A
    const fault = this.check("readFile", [path]);
    if (fault?.kind === "error" || fault?.kind === "short") throw new IOError("readFile", path, fault.errno);
    const bytes = this.inner.readFile(path);
    if (fault?.kind === "flip") this.flipOneBit(bytes, bytes.length);
    return bytes;
  }

  rename(from: string, to: string): void { // A
    this.throwIfFault("rename", from, to);
    this.inner.rename(from, to);
  }

  remove(path: string): void { // A
    this.throwIfFault("remove", path);
    this.inner.remove(path);
  }

  list(dir: string): string[] { // A
    this.throwIfFault("list", dir);
    return this.inner.list(dir);
  }

  mkdir(path: string, options?: { recursive?: boolean }): void { // A
    this.throwIfFault("mkdir", path);
    this.inner.mkdir(path, options);
  }

  stat(path: string): FileStat | undefined { // A
    this.throwIfFault("stat", path);
    return this.inner.stat(path);
  }

  async syncDir(path: string): Promise<void> { // A
    this.throwIfFault("syncDir", path);
    await this.inner.syncDir(path);
  }

  lock(path: string): FileLock { // A
    this.throwIfFault("lock", path);
    return this.inner.lock(path);
  }

  /** Counts the call and returns the fault it must suffer, if a rule is due. For this module's handles; tests use inject(). */
  check(op: FaultOp, paths: string[]): Fault | undefined { // A
    this.callsByOp.set(op, this.calls(op) + 1);
    let due: RuleState | undefined;
    for (const r of this.rules) {
      if (r.rule.op !== op) continue;
      const include = r.rule.pathIncludes;
      if (include !== undefined && !paths.some((p) => p.includes(include))) continue;
      r.matched++;
      const ready = r.matched >= (r.rule.nth ?? 1) && (r.rule.every === true || r.fired === 0);
      if (ready && due === undefined) due = r;
    }
    if (due === undefined) return undefined;
    due.fired++;
    this.firedByOp.set(op, this.faultsFired(op) + 1);
    const errno = due.rule.error ?? "EIO";
    if (due.rule.bitFlip === true) return { kind: "flip" };
    if (due.rule.shortWrite !== undefined) {
      return { kind: "short", errno, bytes: due.rule.shortWrite === true ? undefined : due.rule.shortWrite };
    }
    return { kind: "error", errno };
  }

  /** Flips one bit among the first `length` bytes (nothing to flip in an empty read). */
  flipOneBit(bytes: Uint8Array, length: number): void { // A
    if (length <= 0) return;
    const at = this.rnd.int(length);
    bytes[at] = bytes[at]! ^ (1 << this.rnd.int(8));
  }

  /** The byte count a short write keeps: the rule's, capped below the full length, or a random strict prefix. */
  shortLength(requested: number | undefined, dataBytes: number): number { // A
    if (dataBytes === 0) return 0;
    if (requested !== undefined) return Math.max(0, Math.min(requested, dataBytes - 1));
    return this.rnd.int(dataBytes);
  }

  private throwIfFault(op: FaultOp, ...paths: string[]): void { // A
    const fault = this.check(op, paths);
    // A bit flip only has meaning for reads; on any other op the rule is an error.
    if (fault !== undefined) throw new IOError(op, paths.join(" -> "), fault.kind === "flip" ? "EIO" : fault.errno);
  }
}

class FaultFileHandle implements FileHandle {
  readonly path: string;
  private readonly owner: FaultFileSystem;
  private readonly inner: FileHandle;

  constructor(owner: FaultFileSystem, inner: FileHandle) { // A
    this.owner = owner;
    this.inner = inner;
    this.path = inner.path;
  }

  read(into: Uint8Array, position: number): number { // A
    const fault = this.owner.check("read", [this.path]);
    if (fault?.kind === "error" || fault?.kind === "short") throw new IOError("read", this.path, fault.errno);
    const n = this.inner.read(into, position);
    if (fault?.kind === "flip") this.owner.flipOneBit(into, n);
    return n;
  }

  write(data: Uint8Array, position: number): void { // A
    const fault = this.owner.check("write", [this.path]);
    if (fault === undefined) return this.inner.write(data, position);
    if (fault.kind === "short") {
      const keep = this.owner.shortLength(fault.bytes, data.length);
      if (keep > 0) this.inner.write(data.subarray(0, keep), position);
    }
    throw new IOError("write", this.path, fault.kind === "flip" ? "EIO" : fault.errno);
  }

  append(data: Uint8Array): void { // A
    const fault = this.owner.check("append", [this.path]);
    if (fault === undefined) return this.inner.append(data);
    if (fault.kind === "short") {
      const keep = this.owner.shortLength(fault.bytes, data.length);
      if (keep > 0) this.inner.append(data.subarray(0, keep));
    }
    throw new IOError("append", this.path, fault.kind === "flip" ? "EIO" : fault.errno);
  }

  truncate(sizeBytes: number): void { // A
    this.throwIfFault("truncate");
    this.inner.truncate(sizeBytes);
  }

  size(): number { // A
    this.throwIfFault("size");
    return this.inner.size();
  }

  async sync(): Promise<void> { // A
    this.throwIfFault("sync");
    await this.inner.sync();
  }

  /** As on Linux, a close that reports an error still releases the handle. */
  close(): void { // A
    const fault = this.owner.check("close", [this.path]);
    this.inner.close();
    if (fault !== undefined) throw new IOError("close", this.path, fault.kind === "flip" ? "EIO" : fault.errno);
  }

  private throwIfFault(op: FaultOp): void { // A
    const fault = this.owner.check(op, [this.path]);
    if (fault !== undefined) throw new IOError(op, this.path, fault.kind === "flip" ? "EIO" : fault.errno);
  }
}
