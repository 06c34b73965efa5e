/**
 * The store's read cache (SPEC.md 12.2): for recently read keys, their heads
 * with the decoded, hash-checked records, so a point read skips the heads
 * entry and record reads (two engine gets and a SHA-256) and goes straight
 * to the value, which is still read and checked against its hash every
 * time.
 *
 * Trust: an entry is made only from records that hashed to their ids; like
 * the engine's block cache (which does not re-check a block's CRC on a hit),
 * a hit trusts what was checked when it was loaded. `verify()` reads
 * everything from the engine.
 *
 * Freshness: only the store's write lane changes heads. Before it hands a
 * batch to the engine it marks the keys whose heads the batch changes as
 * being written (`beginWrite`): their entries go, and until `endWrite` (the
 * engine write finished or failed) reads of those keys bypass the cache and
 * never fill it. So at every moment each key is either untouched by the
 * write in flight (its entry is still right) or read from the engine, which
 * shows the whole batch or none of it: readers see a group all or nothing,
 * across keys too. Prune changes no heads; it clears the cache anyway.
 *
 * Memory: bounded by `maxBytes` (entries are charged an estimate of their
 * heap size); eviction is second-chance (CLOCK over insertion order): an
 * entry read since it was last passed over moves to the back once instead
 * of being evicted. 0 disables the cache.
 * Cost: a hit is one Map lookup and a flag set (a move to the back on
 * every hit, delete + set, cost ~6% of a warm get).
 */
import type { VersionRecord } from "./record.ts";

export interface CachedHead {
  id: Uint8Array;
  record: VersionRecord;
}

/** Rough heap bytes of one entry beyond its byte arrays (objects, Map slot, strings' headers). */
const ENTRY_OVERHEAD_BYTES = 160;
const HEAD_OVERHEAD_BYTES = 200;

interface Slot {
  heads: CachedHead[];
  bytes: number;
  /** Read since eviction last passed it. */
  used: boolean;
}

export class HeadCache {
  private readonly slots = new Map<string, Slot>();
  private used = 0;
  /** Keys a write in flight changes: count of writes (the lane runs one at a time, so 0 or 1). */
  private readonly writing = new Map<string, number>();

  constructor(readonly maxBytes: number) {} // A

  /** The heads of the key whose heads entry is `entryKey` (latin1), winner first, or undefined. */
  get(entryKey: string): CachedHead[] | undefined { // A
    if (this.writing.size > 0 && this.writing.has(entryKey)) return undefined;
    const s = this.slots.get(entryKey);
    if (s === undefined) return undefined;
    s.used = true;
    return s.heads;
  }

  set(entryKey: string, heads: CachedHead[]): void { // A
    if (this.maxBytes === 0 || this.writing.has(entryKey)) return;
    this.delete(entryKey);
    let bytes = ENTRY_OVERHEAD_BYTES + entryKey.length * 2;
    for (const h of heads) bytes += HEAD_OVERHEAD_BYTES + h.record.key.length + h.record.node.length * 2 + (h.record.parents.length + 2) * 32;
    if (bytes > this.maxBytes) return;
    this.slots.set(entryKey, { heads, bytes, used: false });
    this.used += bytes;
    // Bounded: each step evicts the oldest entry or clears its flag and moves it back; a flag is
    // cleared at most once per entry, so within 2 x entries steps something is evicted.
    while (this.used > this.maxBytes) {
      const first = this.slots.entries().next();
      if (first.done === true) break;
      const [k, s] = first.value;
      this.slots.delete(k);
      if (s.used && k !== entryKey) {
        s.used = false;
        this.slots.set(k, s);
        continue;
      }
      this.used -= s.bytes;
    }
  }

  /** The keys' heads are about to change: drop their entries and keep them out until endWrite. */
  beginWrite(entryKeys: Iterable<string>): void { // A
    for (const k of entryKeys) {
      this.writing.set(k, (this.writing.get(k) ?? 0) + 1);
      this.delete(k);
    }
  }

  /** The write that beginWrite announced is visible (or failed): the keys may be cached again. */
  endWrite(entryKeys: Iterable<string>): void { // A
    for (const k of entryKeys) {
      const n = this.writing.get(k) ?? 0;
      if (n <= 1) this.writing.delete(k);
      else this.writing.set(k, n - 1);
    }
  }

  delete(entryKey: string): void { // A
    const s = this.slots.get(entryKey);
    if (s === undefined) return;
    this.slots.delete(entryKey);
    this.used -= s.bytes;
  }

  clear(): void { // A
    this.slots.clear();
    this.used = 0;
  }

  get usedBytes(): number { // A
    return this.used;
  }

  get entries(): number { // A
    return this.slots.size;
  }
}
