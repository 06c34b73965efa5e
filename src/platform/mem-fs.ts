/**
 * MemFileSystem: an in-memory, crashable FileSystem for crash tests and the
 * simulator. Writes change only what the process sees until an fsync makes
 * them durable (see mem-fs-state.ts for the model and what it leaves out).
 *
 * - `handle.sync()` makes the data ops issued before the call durable;
 *   `syncDir(d)` makes the metadata journal durable up to the last op that
 *   touched `d` (earlier ops on other directories ride along, as in a real
 *   journaling FS). Both take effect one microtask after the call, so a
 *   crash that lands while an fsync is in flight loses it.
 * - mkdir is journaled like any other namespace change: a new directory is
 *   durable only after syncDir of its parent.
 * - `crash(seed)` / `armCrash(n, seed)` produce a new MemFileSystem holding
 *   what survives; this one is dead and every later call throws CrashedError.
 *   `crashImage(seed)` computes the same survivor without killing anything:
 *   for a given state and seed the survivor is always the same.
 * - Paths: "/" separated, "." and empty segments ignored, ".." pops; a
 *   relative path is relative to the root, so "db/x" and "/db/x" are one file.
 *   Test helpers report paths in the absolute form "/db/x".
 * - `callCount` counts every FileSystem, FileHandle and FileLock call
 *   (reads too); the test helpers (clone, snapshotFiles, flipBit, crash...)
 *   are not counted.
 * - A file should have one writing handle: append goes to the current end.
 */
import { CrashedError, InvalidArgumentError, IOError, LockedError, NotFoundError } from "../errors.ts";
import type { FileHandle, FileLock, FileStat, FileSystem, OpenOptions } from "./fs.ts";
import { checkOffset, checkOpenOptions } from "./fs-checks.ts";
import { MemFileHandle, MemFileLock, type MemHost } from "./mem-fs-handle.ts";
import { SeededRandom } from "./random.ts";
import { DirNode, Inode, MemState, cloneState, commitJournal, metaOpTouches, survive, type Entry, type MetaOp } from "./mem-fs-state.ts";

function splitPath(path: string): string[] { // A
  const parts: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") parts.pop();
    else parts.push(part);
  }
  return parts;
}

function canonical(path: string): string { // A
  return `/${splitPath(path).join("/")}`;
}

export class MemFileSystem implements FileSystem {
  private state = new MemState();
  private dead = false;
  private calls = 0;
  private armedCallsLeft: number | undefined;
  private armedSeed = 0;
  private survivor: MemFileSystem | undefined;
  private readonly locks = new Set<string>();
  private readonly host: MemHost = {
    tick: this.tick.bind(this),
    checkAlive: this.checkAlive.bind(this),
    newSeq: this.newSeq.bind(this),
  };

  /** FileSystem, FileHandle and FileLock calls made so far (including the one that crashed). */
  get callCount(): number { // A
    return this.calls;
  }

  get isCrashed(): boolean { // A
    return this.dead;
  }

  open(path: string, options: OpenOptions = {}): FileHandle { // A
    this.tick();
    checkOpenOptions(path, options);
    const { dir, name } = this.parentOf("open", path);
    let entry = dir.volatile.get(name);
    if (entry instanceof DirNode) throw new IOError("open", path, "EISDIR", { detail: "a directory is not a file" });
    if (entry !== undefined && options.exclusive === true) throw new IOError("open", path, "EEXIST");
    if (entry === undefined) {
      if (options.create !== true && options.exclusive !== true) throw new NotFoundError(path, `open: ${path} does not exist`);
      entry = new Inode(this.state.newId());
      this.link(dir, name, entry);
    }
    const handle = new MemFileHandle(path, entry, options.readOnly === true, this.host);
    if (options.truncate === true && entry.volatile.length > 0) {
      entry.volatile.truncate(0);
      entry.pending.push({ seq: this.state.newSeq(), kind: "truncate", sizeBytes: 0 });
    }
    return handle;
  }

  readFile(path: string): Uint8Array { // A
    this.tick();
    return this.fileAt("readFile", path).volatile.view().slice();
  }

  rename(from: string, to: string): void { // A
    this.tick();
    const src = this.parentOf("rename", from);
    const entry = src.dir.volatile.get(src.name);
    if (entry === undefined) throw new NotFoundError(from, `rename to ${to}: ${from} does not exist`);
    if (entry instanceof DirNode) throw new IOError("rename", from, "EISDIR", { detail: "MemFileSystem renames files only" });
    const dst = this.parentOf("rename", to);
    const replaced = dst.dir.volatile.get(dst.name);
    if (replaced instanceof DirNode) throw new IOError("rename", to, "EISDIR", { detail: "cannot replace a directory" });
    if (replaced === entry) return; // POSIX: renaming a file onto itself does nothing
    src.dir.volatile.delete(src.name);
    dst.dir.volatile.set(dst.name, entry);
    this.journal({ seq: this.state.newSeq(), kind: "rename", fromDir: src.dir, fromName: src.name, toDir: dst.dir, toName: dst.name, entry });
  }

  remove(path: string): void { // A
    this.tick();
    const { dir, name } = this.parentOf("remove", path);
    const entry = dir.volatile.get(name);
    if (entry === undefined) throw new NotFoundError(path, `remove: ${path} does not exist`);
    if (entry instanceof DirNode) throw new IOError("remove", path, "EISDIR", { detail: "remove deletes files, not directories" });
    this.unlink(dir, name);
  }

  list(dir: string): string[] { // A
    this.tick();
    return [...this.dirAt("list", dir).volatile.keys()].sort();
  }

  mkdir(path: string, options: { recursive?: boolean } = {}): void { // A
    this.tick();
    const parts = splitPath(path);
    let dir = this.state.root;
    for (let i = 0; i < parts.length; i++) {
      const name = parts[i]!;
      const last = i === parts.length - 1;
      const entry = dir.volatile.get(name);
      if (entry instanceof DirNode) {
        dir = entry;
        continue;
      }
      if (entry !== undefined) throw new IOError("mkdir", path, last ? "EEXIST" : "ENOTDIR");
      if (!last && options.recursive !== true) throw new NotFoundError(path, `mkdir: the parent of ${path} does not exist`);
      const created = new DirNode(this.state.newId());
      this.link(dir, name, created);
      dir = created;
    }
  }

  stat(path: string): FileStat | undefined { // A
    this.tick();
    const entry = this.lookup(path);
    if (entry === undefined) return undefined;
    if (entry instanceof DirNode) return { sizeBytes: 0, isDirectory: true };
    return { sizeBytes: entry.volatile.length, isDirectory: false };
  }

  async syncDir(path: string): Promise<void> { // PA
    this.tick();
    const dir = this.dirAt("syncDir", path);
    let last: MetaOp | undefined;
    for (let i = this.state.journal.length - 1; i >= 0 && last === undefined; i--) {
      if (metaOpTouches(this.state.journal[i]!, dir)) last = this.state.journal[i];
    }
    await Promise.resolve();
    this.checkAlive();
    if (last !== undefined) commitJournal(this.state, last.seq);
  }

  lock(path: string): FileLock { // A
    this.tick();
    const key = canonical(path);
    if (this.locks.has(key)) throw new LockedError(path, "another handle in this process");
    // A lock file, as node-fs leaves one, so list() looks the same; a crash may leave it behind, and that is harmless here.
    const { dir, name } = this.parentOf("lock", path);
    const entry = dir.volatile.get(name);
    if (entry instanceof DirNode) throw new IOError("lock", path, "EISDIR");
    if (entry === undefined) this.link(dir, name, new Inode(this.state.newId()));
    this.locks.add(key);
    return new MemFileLock(path, () => this.unlock(key, path), this.host);
  }

  // ---- crash control (not counted as calls) ----

  /** Loses power now: returns what survives, chosen by `seed`; this FS and its handles are dead from here on. */
  crash(seed = 0): MemFileSystem { // PA
    this.checkAlive();
    const survivor = this.crashImage(seed);
    this.dead = true;
    this.survivor = survivor;
    return survivor;
  }

  /** What a crash with `seed` would leave, without crashing: same state and seed, same image. */
  crashImage(seed = 0): MemFileSystem { // PA
    return MemFileSystem.fromState(survive(cloneState(this.state), new SeededRandom(seed)));
  }

  /** Crashes on the `afterCalls`-th counted call from now (1 = the next call); that call throws and has no effect. */
  armCrash(afterCalls: number, seed = 0): void { // A
    if (!Number.isSafeInteger(afterCalls) || afterCalls < 1) {
      throw new InvalidArgumentError(`armCrash: afterCalls must be an integer >= 1, got ${String(afterCalls)}`);
    }
    this.checkAlive();
    this.armedCallsLeft = afterCalls;
    this.armedSeed = seed;
  }

  /** Cancels armCrash. */
  disarm(): void { // A
    this.armedCallsLeft = undefined;
  }

  /** The survivor of the crash that killed this FS (by crash() or armCrash), if any. */
  lastCrash(): MemFileSystem | undefined { // A
    return this.survivor;
  }

  // ---- test helpers (not counted as calls) ----

  /** A live, independent copy: same visible and durable state and pending ops; no handles, locks or arming. */
  clone(): MemFileSystem { // A
    return MemFileSystem.fromState(cloneState(this.state));
  }

  /** Every file's visible contents, keyed by absolute path, in path order. */
  snapshotFiles(): Map<string, Uint8Array> { // A
    const out = new Map<string, Uint8Array>();
    const walk = (dir: DirNode, prefix: string): void => { // A
      for (const name of [...dir.volatile.keys()].sort()) {
        const entry = dir.volatile.get(name)!;
        if (entry instanceof DirNode) walk(entry, `${prefix}/${name}`);
        else out.set(`${prefix}/${name}`, entry.volatile.view().slice());
      }
    };
    walk(this.state.root, "");
    return new Map([...out].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }

  /** Rots one bit of a file on the "disk": both the durable and the visible bytes, where they reach that offset. */
  flipBit(path: string, byteOffset: number, bit: number): void { // A
    checkOffset("flipBit", path, "byteOffset", byteOffset);
    if (!Number.isInteger(bit) || bit < 0 || bit > 7) throw new InvalidArgumentError(`flipBit: bit must be 0..7, got ${bit}`);
    const inode = this.fileAt("flipBit", path);
    const hitDurable = inode.durable.flipBit(byteOffset, bit);
    const hitVolatile = inode.volatile.flipBit(byteOffset, bit);
    if (!hitDurable && !hitVolatile) {
      throw new InvalidArgumentError(`flipBit: ${path} has no byte at offset ${byteOffset}`);
    }
  }

  // ---- internals ----

  private static fromState(state: MemState): MemFileSystem { // A
    const fs = new MemFileSystem();
    fs.state = state;
    return fs;
  }

  private tick(): void { // A
    this.checkAlive();
    this.calls++;
    if (this.armedCallsLeft === undefined) return;
    this.armedCallsLeft--;
    if (this.armedCallsLeft > 0) return;
    this.armedCallsLeft = undefined;
    this.crash(this.armedSeed);
    throw new CrashedError();
  }

  /** Read through `this.state` on every call: fromState() swaps the state after construction. */
  private newSeq(): number { // A
    return this.state.newSeq();
  }

  private checkAlive(): void { // A
    if (this.dead) throw new CrashedError();
  }

  private unlock(key: string, path: string): void { // A
    this.locks.delete(key);
    const { dir, name } = this.parentOf("unlock", path);
    if (dir.volatile.get(name) instanceof Inode) this.unlink(dir, name);
  }

  private unlink(dir: DirNode, name: string): void { // A
    dir.volatile.delete(name);
    this.journal({ seq: this.state.newSeq(), kind: "unlink", dir, name });
  }

  private link(dir: DirNode, name: string, entry: Entry): void { // A
    dir.volatile.set(name, entry);
    this.journal({ seq: this.state.newSeq(), kind: "link", dir, name, entry });
  }

  private journal(op: MetaOp): void { // A
    this.state.journal.push(op);
  }

  /** The visible entry at `path`, or undefined if it or a parent is missing or not a directory. */
  private lookup(path: string): Entry | undefined { // A
    let entry: Entry = this.state.root;
    for (const part of splitPath(path)) {
      if (!(entry instanceof DirNode)) return undefined;
      const next: Entry | undefined = entry.volatile.get(part);
      if (next === undefined) return undefined;
      entry = next;
    }
    return entry;
  }

  private parentOf(op: string, path: string): { dir: DirNode; name: string } { // A
    const parts = splitPath(path);
    const name = parts.pop();
    if (name === undefined) throw new IOError(op, path, "EISDIR", { detail: "the root is a directory" });
    return { dir: this.dirAt(op, parts.join("/"), path), name };
  }

  private dirAt(op: string, dirPath: string, forPath = dirPath): DirNode { // A
    const entry = this.lookup(dirPath);
    if (entry === undefined) throw new NotFoundError(forPath, `${op}: ${dirPath === "" ? "/" : dirPath} does not exist`);
    if (!(entry instanceof DirNode)) throw new IOError(op, forPath, "ENOTDIR");
    return entry;
  }

  private fileAt(op: string, path: string): Inode { // A
    const entry = this.lookup(path);
    if (entry === undefined) throw new NotFoundError(path, `${op}: ${path} does not exist`);
    if (entry instanceof DirNode) throw new IOError(op, path, "EISDIR");
    return entry;
  }
}
