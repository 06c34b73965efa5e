/**
 * The data model behind MemFileSystem: what a disk holds (durable) versus
 * what the running process sees (volatile), and the rule that decides what
 * survives a power loss.
 *
 * Files are inodes with durable and volatile bytes plus the list of data
 * operations (writes, truncates) not yet made durable by an fsync.
 * Directories hold a volatile and a durable name map; every namespace change
 * (create, mkdir, rename, remove) goes to one ordered metadata journal, and
 * the durable maps are the result of replaying a prefix of that journal.
 * Because journal and data ops are replayed in the order the process issued
 * them, every surviving state is one the process itself passed through, plus
 * at most one torn write per file. Real disks can do worse (pages of one
 * file written back out of order, leaving holes); this model does not
 * simulate that.
 */
import { assert } from "../errors.ts";
import type { Random } from "./random.ts";

/** A growable byte array (amortized O(1) append), the storage of file contents. */
export class GrowableBytes {
  private buf: Uint8Array;
  private len: number;

  constructor(initial?: Uint8Array) { // A
    this.buf = initial === undefined ? new Uint8Array(0) : initial.slice();
    this.len = this.buf.length;
  }
  get length(): number { // A
    return this.len;
  }
  /** The live bytes (a view: copy before handing it out). */
  view(): Uint8Array { // A
    return this.buf.subarray(0, this.len);
  }
  clone(): GrowableBytes { // A
    return new GrowableBytes(this.view());
  }
  /** Writes at `position`, zero-filling any gap past the end (a sparse write). */
  write(position: number, data: Uint8Array): void { // A
    const end = position + data.length;
    this.reserve(end);
    if (position > this.len) this.buf.fill(0, this.len, position);
    this.buf.set(data, position);
    this.len = Math.max(this.len, end);
  }
  /** Sets the length; growing zero-fills. */
  truncate(sizeBytes: number): void { // A
    this.reserve(sizeBytes);
    if (sizeBytes > this.len) this.buf.fill(0, this.len, sizeBytes);
    this.len = sizeBytes;
  }
  /** Flips one bit if the byte exists; reports whether it did. */
  flipBit(byteOffset: number, bit: number): boolean { // A
    if (byteOffset >= this.len) return false;
    this.buf[byteOffset] = this.buf[byteOffset]! ^ (1 << bit);
    return true;
  }
  private reserve(capacity: number): void { // A
    if (capacity <= this.buf.length) return;
    const next = new Uint8Array(Math.max(capacity, this.buf.length * 2, 64));
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
}

export type DataOp =
  | { seq: number; kind: "write"; position: number; data: Uint8Array }
  | { seq: number; kind: "truncate"; sizeBytes: number };

export class Inode {
  readonly id: number;
  durable: GrowableBytes;
  volatile: GrowableBytes;
  /** Data ops since the last fsync, oldest first. */
  pending: DataOp[] = [];

  constructor(id: number, durable = new GrowableBytes(), volatile = new GrowableBytes()) { // A
    this.id = id;
    this.durable = durable;
    this.volatile = volatile;
  }
}

export type Entry = Inode | DirNode;

export class DirNode {
  readonly id: number;
  volatile = new Map<string, Entry>();
  durable = new Map<string, Entry>();

  constructor(id: number) { // A
    this.id = id;
  }
}

export type MetaOp =
  | { seq: number; kind: "link"; dir: DirNode; name: string; entry: Entry }
  | { seq: number; kind: "unlink"; dir: DirNode; name: string }
  | { seq: number; kind: "rename"; fromDir: DirNode; fromName: string; toDir: DirNode; toName: string; entry: Inode };

/** Everything a MemFileSystem holds; the FS class adds handles, locks and crash control. */
export class MemState {
  root: DirNode;
  /** Namespace changes not yet durable, oldest first. */
  journal: MetaOp[] = [];
  private idNext = 1;
  private seqNext = 1;

  constructor(root?: DirNode) { // A
    this.root = root ?? new DirNode(0);
  }
  newId(): number { // A
    return this.idNext++;
  }
  newSeq(): number { // A
    return this.seqNext++;
  }
  /** Counters carry over to clones so ids stay unique and ordered. */
  copyCountersFrom(other: MemState): void { // A
    this.idNext = other.idNext;
    this.seqNext = other.seqNext;
  }
}

export function applyDataOp(bytes: GrowableBytes, op: DataOp): void { // PA
  if (op.kind === "write") bytes.write(op.position, op.data);
  else bytes.truncate(op.sizeBytes);
}

/** Replays one journal op onto the durable maps. */
export function applyMetaOp(op: MetaOp): void { // PA
  if (op.kind === "link") {
    op.dir.durable.set(op.name, op.entry);
  } else if (op.kind === "unlink") {
    op.dir.durable.delete(op.name);
  } else {
    // One step: after it the durable maps hold the new name and not the old, never both or neither.
    op.fromDir.durable.delete(op.fromName);
    op.toDir.durable.set(op.toName, op.entry);
  }
}

export function metaOpTouches(op: MetaOp, dir: DirNode): boolean { // A
  if (op.kind === "rename") return op.fromDir === dir || op.toDir === dir;
  return op.dir === dir;
}

/** Makes the inode's data ops up to `seqMax` durable (an fsync that started when that op was the last). */
export function commitData(inode: Inode, seqMax: number): void { // PA
  let n = 0;
  while (n < inode.pending.length && inode.pending[n]!.seq <= seqMax) {
    applyDataOp(inode.durable, inode.pending[n]!);
    n++;
  }
  inode.pending.splice(0, n);
}

/** Makes the journal durable up to and including the op numbered `seqMax`. */
export function commitJournal(state: MemState, seqMax: number): void { // PA
  let n = 0;
  while (n < state.journal.length && state.journal[n]!.seq <= seqMax) {
    applyMetaOp(state.journal[n]!);
    n++;
  }
  state.journal.splice(0, n);
}

/** A deep copy; nodes reachable only from the journal or a durable map are copied too. */
export function cloneState(src: MemState): MemState { // A
  const memo = new Map<Entry, Entry>();
  const copy = <T extends Entry>(e: T): T => cloneEntry(e, memo) as T; // A
  const out = new MemState(copy(src.root));
  out.copyCountersFrom(src);
  out.journal = src.journal.map((op): MetaOp => {
    if (op.kind === "link") return { ...op, dir: copy(op.dir), entry: copy(op.entry) };
    if (op.kind === "unlink") return { ...op, dir: copy(op.dir) };
    return { ...op, fromDir: copy(op.fromDir), toDir: copy(op.toDir), entry: copy(op.entry) };
  });
  return out;
}

function cloneEntry(e: Entry, memo: Map<Entry, Entry>): Entry { // A
  const done = memo.get(e);
  if (done !== undefined) return done;
  if (e instanceof Inode) {
    const c = new Inode(e.id, e.durable.clone(), e.volatile.clone());
    c.pending = e.pending.slice(); // ops are never mutated, sharing them is safe
    memo.set(e, c);
    return c;
  }
  const d = new DirNode(e.id);
  memo.set(e, d);
  for (const [name, child] of e.volatile) d.volatile.set(name, cloneEntry(child, memo));
  for (const [name, child] of e.durable) d.durable.set(name, cloneEntry(child, memo));
  return d;
}

/**
 * Turns `state` (a private copy: it is consumed) into what a power loss
 * leaves: a random prefix of the journal, then for each surviving file a
 * random prefix of its data ops, the next one possibly torn to a prefix of
 * its bytes. Draws happen in a fixed order (journal, then files by inode id),
 * so the same seed always gives the same image.
 */
export function survive(state: MemState, rnd: Random): MemState { // PA
  const keep = rnd.int(state.journal.length + 1);
  for (let i = 0; i < keep; i++) applyMetaOp(state.journal[i]!);
  state.journal = [];
  const inodes = new Map<number, Inode>();
  collectDurable(state.root, inodes);
  for (const id of [...inodes.keys()].sort((a, b) => a - b)) surviveInode(inodes.get(id)!, rnd);
  return state;
}

/** Makes each durable dir map the visible one too and gathers the surviving inodes. */
function collectDurable(dir: DirNode, inodes: Map<number, Inode>): void { // A
  dir.volatile = new Map(dir.durable);
  for (const entry of dir.durable.values()) {
    if (entry instanceof Inode) inodes.set(entry.id, entry);
    else collectDurable(entry, inodes);
  }
}

function surviveInode(inode: Inode, rnd: Random): void { // PA
  const ops = inode.pending;
  const keep = rnd.int(ops.length + 1);
  for (let i = 0; i < keep; i++) applyDataOp(inode.durable, ops[i]!);
  const torn = ops[keep];
  if (torn !== undefined && torn.kind === "write" && torn.data.length > 1) {
    // A write is torn to a strict prefix (0 bytes included); a truncate is atomic and simply lost.
    const bytes = rnd.int(torn.data.length);
    if (bytes > 0) inode.durable.write(torn.position, torn.data.subarray(0, bytes));
  }
  inode.pending = [];
  inode.volatile = inode.durable.clone();
  assert(inode.volatile.length === inode.durable.length, "survivor's visible and durable contents agree");
}
