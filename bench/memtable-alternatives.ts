/**
 * The memtable designs that lost, kept only so bench/memtable.ts can measure
 * them against the one in src/engine/memtable/ in the same run:
 * - SkipListTable: a LevelDB-style skiplist (branching 4, height <= 16) over
 *   latin1 string keys, each node holding its version chain;
 * - TreeMapTable: the same B+tree as the memtable plus a Map from key to
 *   node beside it, for O(1) point reads and overwrite detection.
 * Both keep every version, like the real memtable; neither is used by src/.
 */
import type { MemEntry } from "../src/engine/memtable/memtable.ts";
import { SortedIndex } from "../src/engine/memtable/sorted-index.ts";

class Version implements MemEntry {
  constructor( // A
    readonly seq: number,
    readonly kind: number,
    readonly value: Uint8Array | undefined,
    readonly older: Version | undefined,
  ) {}
}

function visibleIn(head: Version, snapshotSeq: number): Version | undefined { // A
  let v: Version | undefined = head;
  while (v !== undefined && v.seq > snapshotSeq) v = v.older;
  return v;
}

/** What the bench drives: the memtable's write, point-read and full-scan paths. */
export interface BenchTable {
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void;
  get(key: string, snapshotSeq: number): MemEntry | undefined;
  /** Walks every key in order, reading the visible version; returns the number of keys. */
  scan(snapshotSeq: number): number;
}

const HEIGHT_MAX = 16;

class SkipNode {
  readonly next: Array<SkipNode | undefined>;
  constructor(readonly key: string, public head: Version | undefined, height: number) { // A
    this.next = new Array<SkipNode | undefined>(height).fill(undefined);
  }
}

export class SkipListTable implements BenchTable {
  private readonly headNode = new SkipNode("", undefined, HEIGHT_MAX);
  private height = 1;
  private rng = 0x9e3779b9;
  private readonly before: SkipNode[] = new Array<SkipNode>(HEIGHT_MAX);

  /** Height h with probability 3/4 * (1/4)^(h-1), from a xorshift32 (benches may not use Math.random). */
  private randomHeight(): number { // A
    let h = 1;
    for (;;) {
      let x = this.rng;
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.rng = x >>> 0;
      if ((x & 3) !== 0 || h >= HEIGHT_MAX) return h;
      h++;
    }
  }

  /** Last node < key at every level into `before`; returns the level-0 one. */
  private findBefore(key: string): SkipNode { // A
    let x = this.headNode;
    for (let level = this.height - 1; level >= 0; level--) {
      let nx = x.next[level];
      while (nx !== undefined && nx.key < key) {
        x = nx;
        nx = x.next[level];
      }
      this.before[level] = x;
    }
    return x;
  }

  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // A
    const at = this.findBefore(key).next[0];
    if (at !== undefined && at.key === key) {
      at.head = new Version(seq, kind, value, at.head);
      return;
    }
    const h = this.randomHeight();
    for (let level = this.height; level < h; level++) this.before[level] = this.headNode;
    if (h > this.height) this.height = h;
    const node = new SkipNode(key, new Version(seq, kind, value, undefined), h);
    for (let level = 0; level < h; level++) {
      node.next[level] = this.before[level]!.next[level];
      this.before[level]!.next[level] = node;
    }
  }

  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    let x = this.headNode;
    for (let level = this.height - 1; level >= 0; level--) {
      let nx = x.next[level];
      while (nx !== undefined && nx.key < key) {
        x = nx;
        nx = x.next[level];
      }
    }
    const at = x.next[0];
    return at !== undefined && at.key === key ? visibleIn(at.head!, snapshotSeq) : undefined;
  }

  scan(snapshotSeq: number): number { // A
    let n = 0;
    for (let x = this.headNode.next[0]; x !== undefined; x = x.next[0]) {
      if (visibleIn(x.head!, snapshotSeq) !== undefined) n++;
    }
    return n;
  }
}

class KeyNode {
  constructor(public head: Version) {} // A
}

export class TreeMapTable implements BenchTable {
  private readonly index = new SortedIndex<KeyNode>();
  private readonly byKey = new Map<string, KeyNode>();

  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // A
    const node = this.byKey.get(key);
    if (node !== undefined) {
      node.head = new Version(seq, kind, value, node.head);
      return;
    }
    const fresh = new KeyNode(new Version(seq, kind, value, undefined));
    this.index.insert(key, fresh);
    this.byKey.set(key, fresh);
  }

  get(key: string, snapshotSeq: number): MemEntry | undefined { // A
    const node = this.byKey.get(key);
    return node === undefined ? undefined : visibleIn(node.head, snapshotSeq);
  }

  scan(snapshotSeq: number): number { // A
    const c = this.index.cursor();
    let n = 0;
    for (c.seekFirst(); c.valid(); c.next()) if (visibleIn(c.value().head, snapshotSeq) !== undefined) n++;
    return n;
  }
}
