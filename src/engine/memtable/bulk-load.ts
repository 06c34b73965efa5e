/**
 * Recovery's memtable builder. Replay yields versions in log order, keys in
 * random order; inserting each into the B+tree costs a descent with a cache
 * miss per level (~1.5-2 us at a million keys). Instead the versions are
 * collected, sorted by key with a stable LSD radix sort on the keys' 6-byte
 * numeric prefixes (three 16-bit passes; O(n)), runs of equal prefixes are
 * finished with a comparison sort (stable, so one key's versions keep their
 * log order), and the tree is then built in key order, where every new key
 * takes the append path (no search).
 *
 * The rows go into the memtable's columns in log order as they come
 * (sequential writes); only the tree is built in key order, from the
 * sorted row numbers.
 */
import { keyPrefix } from "./sorted-index.ts";
import { MemTable } from "./memtable.ts";

const RADIX = 1 << 16;

export class MemTableLoader {
  private mem = new MemTable();
  /** keys[row]: the key of each appended row. */
  private keys: string[] = [];

  constructor() {} // A

  /** A replayed version; seqs must increase across calls (log order), as MemTable.addSlice requires. */
  add(key: string, seq: number, kind: number, buf: Uint8Array | undefined, off: number, len: number): void { // A
    this.mem.appendUnindexed(key, seq, kind, buf, off, len);
    this.keys.push(key);
  }

  get size(): number { // A
    return this.keys.length;
  }

  /** The memtable holding every version added, as if added one by one (call once). */
  build(): MemTable { // PA
    const mem = this.mem;
    const sorted = sortedOrder(this.keys);
    mem.indexSorted(sorted.order, this.keys, sorted.prefixes);
    this.keys = [];
    this.mem = new MemTable();
    return mem;
  }
}

/**
 * Indices of `keys` in ascending key order (equal keys keep their index
 * order: stable), and each key's keyPrefix by index.
 */
export function sortedOrder(keys: readonly string[]): { order: Uint32Array; prefixes: Float64Array } { // PA
  const n = keys.length;
  const hi = new Uint16Array(n);
  const mid = new Uint16Array(n);
  const lo = new Uint16Array(n);
  const prefixes = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    const p = keyPrefix(keys[i]!);
    prefixes[i] = p;
    const top = Math.floor(p / 0x1_0000_0000);
    const low = p - top * 0x1_0000_0000;
    hi[i] = top;
    mid[i] = low >>> 16;
    lo[i] = low & 0xffff;
  }
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let tmp = new Uint32Array(n);
  const counts = new Uint32Array(RADIX + 1);
  for (const digit of [lo, mid, hi]) {
    counts.fill(0);
    for (let i = 0; i < n; i++) counts[digit[i]! + 1]!++;
    for (let d = 0; d < RADIX; d++) counts[d + 1]! += counts[d]!;
    for (let i = 0; i < n; i++) {
      const at = order[i]!;
      tmp[counts[digit[at]!]!++] = at;
    }
    const swap = order;
    order = tmp;
    tmp = swap;
  }
  // Equal prefixes decide nothing: finish each such run by the whole key (ties by index: stable).
  for (let start = 0; start < n; ) {
    const a = order[start]!;
    let end = start + 1;
    while (end < n && hi[order[end]!] === hi[a] && mid[order[end]!] === mid[a] && lo[order[end]!] === lo[a]) end++;
    if (end - start > 1) finishRun(order, start, end, keys);
    start = end;
  }
  return { order, prefixes };
}

/** Sorts order[start, end) by (key, index) unless it already is. */
function finishRun(order: Uint32Array, start: number, end: number, keys: readonly string[]): void { // A
  let sorted = true;
  for (let i = start + 1; i < end && sorted; i++) {
    const x = keys[order[i - 1]!]!;
    const y = keys[order[i]!]!;
    sorted = x < y || (x === y && order[i - 1]! < order[i]!);
  }
  if (sorted) return;
  const run = Array.from(order.subarray(start, end));
  run.sort((i, j) => { // A
    const x = keys[i]!;
    const y = keys[j]!;
    return x < y ? -1 : x > y ? 1 : i - j;
  });
  order.set(run, start);
}
