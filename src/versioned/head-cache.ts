/**
 * The store's read cache (SPEC.md 12.2): for recently read keys, their heads
 * with the decoded, hash-checked records, so a point read skips the heads
 * entry and record reads (two engine gets and a SHA-256) and goes straight
 * to the value, which is still read and checked against its hash every
 * time.
 *
 * Trust: an entry is made only from records that hashed to their ids, and a
 * hit trusts the check made when it was loaded, as the engine's block cache
 * trusts a block whose CRC it checked. So damage to a head's record or to the
 * heads entry on disk after the key was cached is not seen by point reads of
 * that key until the entry leaves the cache; `verify()`, `version()`,
 * `history()` and every uncached read still find it, and values are checked
 * on every read. `readCacheBytes: 0` makes every point read re-check.
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
 * Memory: an entry is one byte array (each head's id, record length and
 * record bytes, winner first) in a small slot, charged its length plus a
 * measured per-entry overhead; bounded by `maxBytes`; eviction is second-chance (CLOCK over insertion order): an
 * entry read since it was last passed over moves to the back once instead
 * of being evicted. 0 disables the cache.
 * Cost: a hit is one Map lookup and a flag set (a move to the back on
 * every hit, delete + set, cost ~6% of a warm get).
 */
import { getU32, putU32 } from "../encoding/fixed.ts";

/** A head as cached: its id and its canonical record bytes (views of the entry's one array). */
export interface PackedHead {
  id: Uint8Array;
  bytes: Uint8Array;
}

const ID_BYTES = 32;

/**
 * Heap bytes of one entry beyond its array and key: the Map slot, the key
 * string's header, the slot object, the Uint8Array and its ArrayBuffer.
 * Measured on Node 20 (--expose-gc; heapUsed + arrayBuffers after reading
 * 20k keys, minus the same run without the cache): 460 bytes per entry in
 * all for a 113-byte record and a 15-byte key, i.e. ~280 bytes of overhead;
 * charged 400, so the charge (579 per such entry) covers the heap held.
 */
const ENTRY_OVERHEAD_BYTES = 400;

interface Slot {
  packed: Uint8Array;
  bytes: number;
  /** Read since eviction last passed it. */
  used: boolean;
}

/** One array holding each head's id, u32 record length and record bytes, in the order given. */
export function packHeads(heads: ReadonlyArray<PackedHead>): Uint8Array { // A
  let n = 0;
  for (const h of heads) n += ID_BYTES + 4 + h.bytes.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const h of heads) {
    out.set(h.id, at);
    putU32(out, at + ID_BYTES, h.bytes.length);
    out.set(h.bytes, at + ID_BYTES + 4);
    at += ID_BYTES + 4 + h.bytes.length;
  }
  return out;
}

/** The first `limit` heads of a packed entry, as views of it (read-only by convention: callers decode, never write). */
export function unpackHeads(packed: Uint8Array, limit = Number.POSITIVE_INFINITY): PackedHead[] { // PA
  const out: PackedHead[] = [];
  // Bounded: each step consumes at least 36 bytes of the array.
  for (let at = 0; at < packed.length && out.length < limit;) {
    const len = getU32(packed, at + ID_BYTES);
    const start = at + ID_BYTES + 4;
    out.push({ id: packed.subarray(at, at + ID_BYTES), bytes: packed.subarray(start, start + len) });
    at = start + len;
  }
  return out;
}

export class HeadCache {
  private readonly slots = new Map<string, Slot>();
  private used = 0;
  /** Keys a write in flight changes: count of writes (the lane runs one at a time, so 0 or 1). */
  private readonly writing = new Map<string, number>();

  constructor(readonly maxBytes: number) {} // A

  /** The packed heads of the key whose heads entry is `entryKey` (latin1), winner first, or undefined. */
  get(entryKey: string): Uint8Array | undefined { // A
    if (this.writing.size > 0 && this.writing.has(entryKey)) return undefined;
    const s = this.slots.get(entryKey);
    if (s === undefined) return undefined;
    s.used = true;
    return s.packed;
  }

  set(entryKey: string, packed: Uint8Array): void { // A
    if (this.maxBytes === 0 || this.writing.has(entryKey)) return;
    this.delete(entryKey);
    const bytes = ENTRY_OVERHEAD_BYTES + entryKey.length * 2 + packed.length;
    if (bytes > this.maxBytes) return;
    this.slots.set(entryKey, { packed, bytes, used: false });
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
