/**
 * Reference counts of content-addressed values (SPEC.md 12): how many
 * stored versions (linked or held) use each value. The value is written
 * when its count leaves 0 and deleted when prune brings it back to 0, in
 * the same batch as the versions that cause it. Counts changed earlier in
 * the batch are kept here, so one batch may touch a value many times.
 *
 * Cost: one synchronous point get per value the first time a batch touches
 * it (callers run one writer at a time, so nothing changes the counts
 * between the read and the batch's commit).
 */
import { CorruptionError } from "../errors.ts";
import type { DB } from "../engine/db.ts";
import type { WriteBatch } from "../engine/write-batch.ts";
import { bytesToHex } from "../platform/sha256.ts";
import { concatKey, NS_VALUE, NS_VALUE_REFS } from "./keyspace.ts";

const COUNT_BYTES = 4;
const COUNT_MAX = 0xffff_ffff;

export class ValueRefs {
  private readonly counts = new Map<string, number>();
  /** Values whose last reference `remove` took (deleted in the batch). */
  valuesDeleted = 0;

  constructor(private readonly db: DB, private readonly b: WriteBatch) {} // A

  /** One more version uses the value `hash`; `value` is stored if it was not. */
  add(hash: Uint8Array, value: Uint8Array): void { // A
    const n = this.count(hash);
    if (n >= COUNT_MAX) throw new CorruptionError(`value ${bytesToHex(hash)} is used by more than ${COUNT_MAX} versions`);
    if (n === 0) this.b.put(concatKey(Uint8Array.of(NS_VALUE), hash), value);
    this.set(hash, n + 1);
  }

  /** One version fewer uses the value `hash`; at 0 the value is deleted. */
  remove(hash: Uint8Array): void { // A
    const n = this.count(hash);
    if (n === 0) throw new CorruptionError(`value ${bytesToHex(hash)} has no reference to remove`);
    if (n === 1) {
      this.b.delete(concatKey(Uint8Array.of(NS_VALUE), hash));
      this.valuesDeleted++;
    }
    this.set(hash, n - 1);
  }

  private set(hash: Uint8Array, n: number): void { // A
    this.counts.set(bytesToHex(hash), n);
    const key = concatKey(Uint8Array.of(NS_VALUE_REFS), hash);
    if (n === 0) {
      this.b.delete(key);
      return;
    }
    const c = new Uint8Array(COUNT_BYTES);
    new DataView(c.buffer).setUint32(0, n, false);
    this.b.put(key, c);
  }

  /** Throws (changing nothing) on a malformed count, so add/remove leave the batch as it was. */
  private count(hash: Uint8Array): number { // PA
    const cached = this.counts.get(bytesToHex(hash));
    if (cached !== undefined) return cached;
    const c = this.db.getSync(concatKey(Uint8Array.of(NS_VALUE_REFS), hash));
    if (c === undefined) return 0;
    if (c.length !== COUNT_BYTES) throw new CorruptionError(`reference count of value ${bytesToHex(hash)} is ${c.length} bytes, not ${COUNT_BYTES}`);
    return new DataView(c.buffer, c.byteOffset, COUNT_BYTES).getUint32(0, false);
  }
}
