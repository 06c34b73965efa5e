/**
 * The value-reference pass of `verifyStore` (verify.ts): every NS_VALUE_REFS
 * count must equal the number of stored versions (linked and held) whose
 * record names that value, since prune deletes a value when its count
 * reaches 0: a count too low loses a value that versions still need.
 *
 * Counting needs a tally per distinct value, so the pass works in
 * partitions of the value-hash space (by the hash's first two bytes; hashes
 * are uniform): each partition scans the record headers (value hash at
 * bytes 28..60, the deleted flag at byte 2; no decode, no hashing), tallies
 * the hashes that fall in it, then walks that range of NS_VALUE_REFS and
 * compares. The number of partitions is chosen so that one tally holds
 * about REFS_TALLY_MAX hashes: memory stays bounded, and a store with more
 * distinct values pays with more scans of the records.
 *
 * A value used by versions but without a count is reported by the values
 * pass (a value without a count) or the records pass (a missing value), so
 * it is not reported again here.
 */
import { toHex } from "../encoding/bytes.ts";
import { NS_PENDING, NS_VALUE_REFS, NS_VERSION } from "./keyspace.ts";
import { RECORD_HASH_BYTES, RECORD_HEADER_BYTES } from "./record.ts";
import type { StoreVerifier } from "./verify.ts";

/** Distinct value hashes one partition's tally aims to hold. */
export const REFS_TALLY_MAX = 65_536;
const COUNT_BYTES = 4;
const PREFIX_SPACE = 65_536;
const HASH_AT = 28;
const FLAG_DELETED = 0x01;

/** Checks every reference count; `distinctValues` (from the values pass) sizes the partitions. */
export async function verifyValueRefs(v: StoreVerifier, distinctValues: number): Promise<void> { // PA
  const partitions = Math.min(PREFIX_SPACE, Math.max(1, Math.ceil(distinctValues / REFS_TALLY_MAX)));
  for (let p = 0; p < partitions; p++) {
    const lo = Math.floor((p * PREFIX_SPACE) / partitions);
    const hi = Math.floor(((p + 1) * PREFIX_SPACE) / partitions);
    const tally = new Map<string, number>();
    const count = (_k: Uint8Array, bytes: Uint8Array): void => tallyRecord(tally, bytes, lo, hi); // A
    await v.scan(NS_VERSION, true, count);
    await v.scan(NS_PENDING, true, count);
    const gte = Uint8Array.of(NS_VALUE_REFS, lo >> 8, lo & 0xff);
    const lt = hi === PREFIX_SPACE ? Uint8Array.of(NS_VALUE_REFS + 1) : Uint8Array.of(NS_VALUE_REFS, hi >> 8, hi & 0xff);
    await v.scanRange(gte, lt, (k, c) => compareCount(v, tally, k, c)); // A
  }
}

/** Adds a live record's value hash to the tally if it falls in [lo, hi). Damaged headers are skipped (the records pass reports them). */
function tallyRecord(tally: Map<string, number>, bytes: Uint8Array, lo: number, hi: number): void { // PA
  if (bytes.length < RECORD_HEADER_BYTES || (bytes[2]! & FLAG_DELETED) !== 0) return;
  const prefix = (bytes[HASH_AT]! << 8) | bytes[HASH_AT + 1]!;
  if (prefix < lo || prefix >= hi) return;
  const hex = toHex(bytes.subarray(HASH_AT, HASH_AT + RECORD_HASH_BYTES));
  tally.set(hex, (tally.get(hex) ?? 0) + 1);
}

/** One NS_VALUE_REFS entry against the tally. */
function compareCount(v: StoreVerifier, tally: Map<string, number>, k: Uint8Array, c: Uint8Array): void { // PA
  v.counts.valueRefs++;
  if (k.length !== 1 + RECORD_HASH_BYTES) {
    v.problem("malformed-key", `reference count entry 0x${toHex(k)}: the key is not a ${RECORD_HASH_BYTES}-byte hash`);
    return;
  }
  const hex = toHex(k.subarray(1));
  if (c.length !== COUNT_BYTES) {
    v.problem("value-refs-count", `value ${hex}: its reference count is ${c.length} bytes, not ${COUNT_BYTES}`);
    return;
  }
  const said = new DataView(c.buffer, c.byteOffset, COUNT_BYTES).getUint32(0, false);
  const used = tally.get(hex) ?? 0;
  if (said !== used) v.problem("value-refs-count", `value ${hex}: its reference count says ${said}, but ${used} stored versions use it`);
}
