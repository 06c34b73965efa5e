/**
 * Binary search over sorted latin1 keys, shared by the memtable's B+tree,
 * the SSTable index and the table cursor.
 */

/** Index of the first key >= `key` in ascending `keys` (keys.length when none). */
export function lowerBound(keys: readonly string[], key: string): number { // A
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < key) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
