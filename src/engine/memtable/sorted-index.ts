/**
 * The memtable's ordered index: an in-memory B+tree from latin1 string keys
 * to values; keys are never removed (a memtable is discarded
 * whole), a value may be replaced. Leaves hold sorted parallel arrays (keys,
 * numeric prefixes, values) searched by
 * binary search, are linked both ways for scans, and inner nodes hold
 * separators. JS `<` on latin1 strings is the unsigned bytewise key order.
 *
 * Cost sketch (2-core EPYC VM, V8): a node of 64 keys is ~64 pointers plus
 * 64 numeric key prefixes, so a lookup touches ~log64(n) nodes (4 levels at
 * 1M keys) and ~log2(n) compares (20 at 1M) of prefixes in a packed array,
 * falling back to the key string only on equal prefixes (shared 6-byte
 * prefixes, as in zero-padded counters, pay one extra number compare each).
 * An insert adds a memmove of half a leaf (~32 pointers, tens of ns). A
 * skiplist does about as many compares but adds a dependent node load per
 * step and has no locality; it measured 2-4x slower on inserts and 3-6x on
 * reads (figures in memtable.ts).
 *
 * Cursors stay correct while the tree grows under them: every insert bumps
 * `epoch`, and a cursor that sees a changed epoch re-finds its current key
 * (still present, since nothing is removed) before stepping: O(log n) once
 * per step that follows a modification, nothing otherwise.
 */
import { assert } from "../../errors.ts";

/** Keys per leaf and children per inner node. 32, 64 and 128 came out within noise in a scratch comparison; 64 keeps the insert memmove short. */
export const SORTED_INDEX_FANOUT = 64;

/** Deep enough for any tree that fits in memory: 64 * 32^11 keys. */
const DEPTH_MAX = 12;

/** A leaf: sorted keys with their values; exported only so cursors and tests can name it. */
export class Leaf<V> {
  keys: string[];
  /** keyPrefix(keys[i]), parallel to keys. */
  prefixes: number[];
  values: V[];
  next: Leaf<V> | undefined = undefined;
  prev: Leaf<V> | undefined = undefined;
  constructor(keys: string[], prefixes: number[], values: V[]) { // A
    this.keys = keys;
    this.prefixes = prefixes;
    this.values = values;
  }
}

class Inner<V> {
  /** keys[i] <= every key under children[i + 1]; every key under children[i] < keys[i]. */
  keys: string[];
  /** keyPrefix(keys[i]), parallel to keys. */
  prefixes: number[];
  children: Array<Inner<V> | Leaf<V>>;
  constructor(keys: string[], prefixes: number[], children: Array<Inner<V> | Leaf<V>>) { // A
    this.keys = keys;
    this.prefixes = prefixes;
    this.children = children;
  }
}

/**
 * The key's first 6 chars (latin1 bytes) as one number, zero-padded: an
 * order-preserving summary (keyPrefix(a) < keyPrefix(b) implies a < b;
 * equal prefixes decide nothing). Searches compare these numbers, held in
 * a packed array beside the keys, and read a key string only on a tie: for
 * random keys most compares then touch no string body (figures in
 * memtable.ts; gets 1.5x on node, 2.6x on bun, where string compares are slow).
 */
export function keyPrefix(key: string): number { // A
  const n = key.length;
  return (
    (n > 0 ? key.charCodeAt(0) : 0) * 0x100_0000_0000 +
    (n > 1 ? key.charCodeAt(1) : 0) * 0x1_0000_0000 +
    ((((n > 2 ? key.charCodeAt(2) : 0) << 24) |
      ((n > 3 ? key.charCodeAt(3) : 0) << 16) |
      ((n > 4 ? key.charCodeAt(4) : 0) << 8) |
      (n > 5 ? key.charCodeAt(5) : 0)) >>> 0)
  );
}

/** Index of the first key >= key (p = keyPrefix(key)). */
function lowerBoundP(keys: string[], prefixes: number[], key: string, p: number): number { // A
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const q = prefixes[mid]!;
    if (q < p || (q === p && keys[mid]! < key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first key > key (p = keyPrefix(key)). */
function upperBoundP(keys: string[], prefixes: number[], key: string, p: number): number { // A
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const q = prefixes[mid]!;
    if (q < p || (q === p && keys[mid]! <= key)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}


/** Opens a gap at `at` and writes `item` there (cheaper than splice: no result array). */
function insertInto<T>(a: T[], at: number, item: T): void { // A
  for (let j = a.length; j > at; j--) a[j] = a[j - 1]!;
  a[at] = item;
}

export class SortedIndex<V> {
  private root: Inner<V> | Leaf<V> = new Leaf<V>([], [], []);
  /** Inner levels above the leaves; the tree is balanced, so descents count down instead of type-testing nodes. */
  private height = 0;
  private count = 0;
  private modifications = 0;
  /** The largest key (meaningful when count > 0): an insert past it takes the rightmost path without searching. */
  private maxKey = "";
  /** Reused descent path of the current insert. */
  private readonly pathNodes: Array<Inner<V>> = [];
  private readonly pathSlots: number[] = [];

  /** Number of keys. */
  get size(): number { // A
    return this.count;
  }

  /** Inner levels above the leaves (0 while the root is a leaf). */
  get innerLevels(): number { // A
    return this.height;
  }

  /** Changes on every insert; cursors compare it to know their leaf position may be stale. */
  get epoch(): number { // A
    return this.modifications;
  }

  /** The leaf where `key` is or would be inserted. */
  findLeaf(key: string): Leaf<V> { // A
    const p = keyPrefix(key);
    let node = this.root;
    for (let h = this.height; h > 0; h--) {
      const inner = node as Inner<V>;
      node = inner.children[upperBoundP(inner.keys, inner.prefixes, key, p)]!;
    }
    return node as Leaf<V>;
  }

  find(key: string): V | undefined { // A
    const p = keyPrefix(key);
    let node = this.root;
    for (let h = this.height; h > 0; h--) {
      const inner = node as Inner<V>;
      node = inner.children[upperBoundP(inner.keys, inner.prefixes, key, p)]!;
    }
    const leaf = node as Leaf<V>;
    const i = lowerBoundP(leaf.keys, leaf.prefixes, key, p);
    return i < leaf.keys.length && leaf.keys[i] === key ? leaf.values[i] : undefined;
  }

  /**
   * Inserts `key` with `value` unless the key is present; returns the value
   * stored for the key afterwards (the existing one or `value`).
   */
  insert(key: string, value: V): V { // A
    const old = this.place(key, value, false);
    return old === undefined ? value : old;
  }

  /** Sets `key` to `value`; returns the value it replaced, or undefined for a new key. */
  upsert(key: string, value: V): V | undefined { // A
    return this.place(key, value, true);
  }

  /** Inserts key -> value if the key is absent (returns undefined); else returns its value, first replacing it if `replace`. */
  private place(key: string, value: V, replace: boolean): V | undefined { // PA
    const p = keyPrefix(key);
    let node = this.root;
    let i: number;
    if (this.count > 0 && key > this.maxKey) {
      // Past the largest key (a sequential load): the rightmost path, no search.
      for (let d = 0; d < this.height; d++) {
        const inner = node as Inner<V>;
        const slot = inner.keys.length;
        this.pathNodes[d] = inner;
        this.pathSlots[d] = slot;
        node = inner.children[slot]!;
      }
      i = (node as Leaf<V>).keys.length;
      this.maxKey = key;
    } else {
      for (let d = 0; d < this.height; d++) {
        const inner = node as Inner<V>;
        const slot = upperBoundP(inner.keys, inner.prefixes, key, p);
        this.pathNodes[d] = inner;
        this.pathSlots[d] = slot;
        node = inner.children[slot]!;
      }
      const leaf = node as Leaf<V>;
      i = lowerBoundP(leaf.keys, leaf.prefixes, key, p);
      if (i < leaf.keys.length && leaf.keys[i] === key) {
        const found = leaf.values[i]!;
        if (replace) leaf.values[i] = value;
        return found;
      }
      if (this.count === 0) this.maxKey = key;
    }
    const leaf = node as Leaf<V>;
    this.count++;
    this.modifications++;
    if (leaf.keys.length < SORTED_INDEX_FANOUT) {
      insertInto(leaf.keys, i, key);
      insertInto(leaf.prefixes, i, p);
      insertInto(leaf.values, i, value);
    } else {
      this.splitLeaf(leaf, i, key, p, value);
    }
    return undefined;
  }

  /**
   * Inserts a key the caller knows to be larger than every key in the tree
   * (recovery's bulk load, whose input is sorted), with its keyPrefix: the
   * rightmost path, no compare, no key read.
   */
  appendLargest(key: string, prefix: number, value: V): void { // PA
    let node = this.root;
    for (let d = 0; d < this.height; d++) {
      const inner = node as Inner<V>;
      const slot = inner.keys.length;
      this.pathNodes[d] = inner;
      this.pathSlots[d] = slot;
      node = inner.children[slot]!;
    }
    const leaf = node as Leaf<V>;
    this.maxKey = key;
    this.count++;
    this.modifications++;
    if (leaf.keys.length < SORTED_INDEX_FANOUT) {
      leaf.keys.push(key);
      leaf.prefixes.push(prefix);
      leaf.values.push(value);
    } else {
      this.splitLeaf(leaf, leaf.keys.length, key, prefix, value);
    }
  }

  /** Replaces the value of the largest key (the tree must not be empty). */
  setLargestValue(value: V): void { // A
    const leaf = this.lastLeaf();
    assert(leaf.values.length > 0, "setLargestValue on an empty tree");
    leaf.values[leaf.values.length - 1] = value;
    this.modifications++;
  }

  /** Splits a full leaf around the new key and hands the new right sibling to the parents. */
  private splitLeaf(leaf: Leaf<V>, i: number, key: string, p: number, value: V): void { // PA
    const n = leaf.keys.length;
    let right: Leaf<V>;
    if (i === n && leaf.next === undefined) {
      // Appending past the largest key (sequential load): leave the old leaf full.
      right = new Leaf([key], [p], [value]);
    } else if (i === 0 && leaf.prev === undefined) {
      // Prepending before the smallest key (descending load): the new key alone goes left.
      right = new Leaf(leaf.keys, leaf.prefixes, leaf.values);
      leaf.keys = [key];
      leaf.prefixes = [p];
      leaf.values = [value];
    } else {
      const at = n >>> 1;
      right = new Leaf(leaf.keys.slice(at), leaf.prefixes.slice(at), leaf.values.slice(at));
      leaf.keys.length = at;
      leaf.prefixes.length = at;
      leaf.values.length = at;
      const target = i <= at ? leaf : right;
      const j = i <= at ? i : i - at;
      insertInto(target.keys, j, key);
      insertInto(target.prefixes, j, p);
      insertInto(target.values, j, value);
    }
    right.next = leaf.next;
    if (right.next !== undefined) right.next.prev = right;
    right.prev = leaf;
    leaf.next = right;
    this.addChild(right.keys[0]!, right.prefixes[0]!, right);
  }

  /** Inserts (separator, right) into the parents along the saved path, splitting full inner nodes upward. */
  private addChild(separator: string, separatorPrefix: number, right: Inner<V> | Leaf<V>): void { // PA
    let sep = separator;
    let sepP = separatorPrefix;
    let child = right;
    for (let d = this.height - 1; d >= 0; d--) {
      const parent = this.pathNodes[d]!;
      const slot = this.pathSlots[d]!;
      insertInto(parent.keys, slot, sep);
      insertInto(parent.prefixes, slot, sepP);
      insertInto(parent.children, slot + 1, child);
      if (parent.children.length <= SORTED_INDEX_FANOUT) return;
      const mid = parent.keys.length >>> 1;
      sep = parent.keys[mid]!;
      sepP = parent.prefixes[mid]!;
      child = new Inner(parent.keys.slice(mid + 1), parent.prefixes.slice(mid + 1), parent.children.slice(mid + 1));
      parent.keys.length = mid;
      parent.prefixes.length = mid;
      parent.children.length = mid + 1;
    }
    assert(this.height < DEPTH_MAX, `sorted index deeper than ${DEPTH_MAX} levels`);
    this.root = new Inner([sep], [sepP], [this.root, child]);
    this.height++;
  }

  firstLeaf(): Leaf<V> { // A
    let node = this.root;
    for (let h = this.height; h > 0; h--) node = (node as Inner<V>).children[0]!;
    return node as Leaf<V>;
  }

  lastLeaf(): Leaf<V> { // A
    let node = this.root;
    for (let h = this.height; h > 0; h--) {
      const children = (node as Inner<V>).children;
      node = children[children.length - 1]!;
    }
    return node as Leaf<V>;
  }

  cursor(): SortedIndexCursor<V> { // A
    return new SortedIndexCursor(this);
  }
}

/**
 * A position in a SortedIndex. It caches the current key and value, so
 * `key()`/`value()` never read a leaf slot that an insert may have shifted.
 */
export class SortedIndexCursor<V> {
  private leaf: Leaf<V> | undefined = undefined;
  private slot = 0;
  private seenEpoch = -1;
  private currentKey = "";
  private currentValue: V | undefined = undefined;

  constructor(private readonly index: SortedIndex<V>) {} // A

  valid(): boolean { // A
    return this.leaf !== undefined;
  }

  key(): string { // A
    assert(this.leaf !== undefined, "sorted index cursor read while not positioned on a key");
    return this.currentKey;
  }

  value(): V { // A
    assert(this.leaf !== undefined, "sorted index cursor read while not positioned on a key");
    return this.currentValue as V;
  }

  seekFirst(): void { // A
    this.load(this.index.firstLeaf(), 0);
  }

  seekLast(): void { // A
    const leaf = this.index.lastLeaf();
    this.load(leaf, leaf.keys.length - 1);
  }

  /**
   * The current key's value as stored now: unlike value(), it sees an
   * upsert made after the cursor got here (an insert elsewhere may have
   * shifted the slot, so it re-finds the key first).
   */
  liveValue(): V { // A
    assert(this.leaf !== undefined, "sorted index cursor read while not positioned on a key");
    if (this.seenEpoch !== this.index.epoch) {
      this.refind();
      this.seenEpoch = this.index.epoch;
    }
    return this.leaf!.values[this.slot]!;
  }

  /** First key >= key. */
  seek(key: string): void { // A
    const leaf = this.index.findLeaf(key);
    this.load(leaf, lowerBoundP(leaf.keys, leaf.prefixes, key, keyPrefix(key)));
  }

  /** Last key <= key. */
  seekForPrev(key: string): void { // A
    const leaf = this.index.findLeaf(key);
    this.load(leaf, upperBoundP(leaf.keys, leaf.prefixes, key, keyPrefix(key)) - 1);
  }

  next(): void { // A
    assert(this.leaf !== undefined, "sorted index cursor stepped while not positioned on a key");
    if (this.seenEpoch !== this.index.epoch) this.refind();
    this.load(this.leaf!, this.slot + 1);
  }

  prev(): void { // A
    assert(this.leaf !== undefined, "sorted index cursor stepped while not positioned on a key");
    if (this.seenEpoch !== this.index.epoch) this.refind();
    this.load(this.leaf!, this.slot - 1);
  }

  /** Inserts moved keys between leaves or within one: find the current key again (it is never removed). */
  private refind(): void { // A
    const leaf = this.index.findLeaf(this.currentKey);
    const slot = lowerBoundP(leaf.keys, leaf.prefixes, this.currentKey, keyPrefix(this.currentKey));
    assert(leaf.keys[slot] === this.currentKey, "sorted index lost a key that a cursor stood on");
    this.leaf = leaf;
    this.slot = slot;
  }

  /** Positions on (leaf, slot), following sibling links when slot falls off either end. Leaves are never empty except an empty tree's root. */
  private load(leaf: Leaf<V>, slot: number): void { // A
    let at: Leaf<V> | undefined = leaf;
    let s = slot;
    if (s >= at.keys.length) {
      at = at.next;
      s = 0;
    } else if (s < 0) {
      at = at.prev;
      s = at === undefined ? 0 : at.keys.length - 1;
    }
    this.seenEpoch = this.index.epoch;
    if (at === undefined || at.keys.length === 0) {
      this.leaf = undefined;
      this.currentValue = undefined;
      this.currentKey = "";
      return;
    }
    this.leaf = at;
    this.slot = s;
    this.currentKey = at.keys[s]!;
    this.currentValue = at.values[s];
  }
}
