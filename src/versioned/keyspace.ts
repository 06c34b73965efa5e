/**
 * The versioned store's keyspace inside the engine (SPEC.md, "Versioned
 * store keyspace"): every engine key starts with a one-byte namespace, and
 * user keys inside composite keys are escaped so that (a) engine order
 * within a namespace is user-key order (bytewise), and (b) one user key's
 * entries are never interleaved with another's, even when one key is a
 * prefix of the other.
 *
 * Escaping: each 0x00 byte of the user key becomes 0x00 0xFF, and the key
 * ends with the terminator 0x00 0x01. For user keys a < b, esc(a) + suffix <
 * esc(b) + suffix' for any suffixes: where a ends, b continues with a byte
 * >= 0x01 (escaped as itself) or 0x00 0xFF, both above the terminator's
 * 0x00 0x01. Cost: one pass over the key; 2 bytes plus one per zero byte.
 */
import { toHex } from "../encoding/bytes.ts";
import { CorruptionError } from "../errors.ts";
import { decodeHlc, encodeHlc, type HlcTimestamp } from "./hlc.ts";

/** Namespaces (first byte of every engine key the store writes). */
export const NS_META = 0x00;
/** Version records by id: NS_VERSION, id (32 bytes) -> canonical record bytes. */
export const NS_VERSION = 0x01;
/**
 * Current heads: NS_HEADS, esc(key) -> the head ids (32 bytes each, strictly
 * ascending). One entry per key, overwritten by each write: a point read,
 * whatever the key's history (an entry per head, deleted when superseded,
 * would leave a tombstone per version for every later scan to skip).
 */
export const NS_HEADS = 0x02;
/** History, newest first: NS_HISTORY, esc(key), inverted HLC (12 bytes), id -> empty. */
export const NS_HISTORY = 0x03;
/** Values by content: NS_VALUE, SHA-256 of the value (32 bytes) -> value bytes. */
export const NS_VALUE = 0x04;
/** Ingested records whose parents have not all arrived: NS_PENDING, id -> canonical record bytes. */
export const NS_PENDING = 0x05;
/** What a pending record waits for: NS_WAITING, missing parent id (32), pending child id (32) -> empty. */
export const NS_WAITING = 0x06;
/** How many linked versions use a value: NS_VALUE_REFS, value hash (32) -> count (u32 big-endian). */
export const NS_VALUE_REFS = 0x07;
/** Prune horizon per key: NS_HORIZON, esc(key) -> HLC (12 bytes) of the newest version prune removed. */
export const NS_HORIZON = 0x08;

/** Meta entry: this store's node id (UTF-8). */
export const META_NODE_KEY: Uint8Array = Uint8Array.of(NS_META, 0x6e); // "n"
/** Meta entry: the highest HLC timestamp issued or observed (12 bytes), kept in every write's batch. */
export const META_HLC_KEY: Uint8Array = Uint8Array.of(NS_META, 0x68); // "h"


const TERMINATOR = 0x01;
const ESCAPED_ZERO = 0xff;

/** The namespace byte followed by the escaped, terminated user key. */
export function keyPrefixFor(ns: number, userKey: Uint8Array): Uint8Array { // A
  let zeros = 0;
  for (let i = 0; i < userKey.length; i++) if (userKey[i] === 0) zeros++;
  const out = new Uint8Array(1 + userKey.length + zeros + 2);
  out[0] = ns;
  let at = 1;
  for (let i = 0; i < userKey.length; i++) {
    const b = userKey[i]!;
    out[at++] = b;
    if (b === 0) out[at++] = ESCAPED_ZERO;
  }
  out[at++] = 0;
  out[at++] = TERMINATOR;
  return out;
}

/** `prefix` followed by `suffix` parts, as one new array. */
export function concatKey(prefix: Uint8Array, ...suffix: Uint8Array[]): Uint8Array { // A
  let n = prefix.length;
  for (const s of suffix) n += s.length;
  const out = new Uint8Array(n);
  out.set(prefix, 0);
  let at = prefix.length;
  for (const s of suffix) {
    out.set(s, at);
    at += s.length;
  }
  return out;
}

/**
 * Reads an escaped user key starting at `from` (just after the namespace
 * byte): returns the user key and where its terminator ends. CorruptionError
 * for a bad escape or a missing terminator (an engine key the store did not write).
 */
export function readEscapedKey(engineKey: Uint8Array, from: number): { key: Uint8Array; end: number } { // PA
  const bytes: number[] = [];
  let i = from;
  // Bounded by the engine key's length: every step consumes at least one byte.
  while (i < engineKey.length) {
    const b = engineKey[i]!;
    if (b !== 0) {
      bytes.push(b);
      i++;
      continue;
    }
    const next = engineKey[i + 1];
    if (next === TERMINATOR) return { key: Uint8Array.from(bytes), end: i + 2 };
    if (next !== ESCAPED_ZERO) break;
    bytes.push(0);
    i += 2;
  }
  throw new CorruptionError(`versioned store key is not an escaped user key at byte ${i}`);
}

const ID_BYTES = 32;
const KEY_TEXT_MAX = 64;

/** The history entry of version `id` of `key`: NS_HISTORY, esc(key), the HLC with every byte inverted (ascending = newest first), id. */
export function historyKey(key: Uint8Array, hlc: HlcTimestamp, id: Uint8Array): Uint8Array { // A
  const inverted = encodeHlc(hlc);
  for (let i = 0; i < inverted.length; i++) inverted[i] = 0xff - inverted[i]!;
  return concatKey(keyPrefixFor(NS_HISTORY, key), inverted, id);
}

/** The timestamp of a history entry from its inverted bytes (CorruptionError if they do not decode). */
export function historyHlc(inverted: Uint8Array): HlcTimestamp { // A
  const raw = inverted.slice();
  for (let i = 0; i < raw.length; i++) raw[i] = 0xff - raw[i]!;
  return decodeHlc(raw);
}

/** A user key for messages: printable ASCII quoted, else 0x hex; long keys shortened. */
export function keyText(k: Uint8Array): string { // A
  const shown = k.subarray(0, KEY_TEXT_MAX);
  const more = k.length > KEY_TEXT_MAX ? `... (${k.length} bytes)` : "";
  const printable = shown.every((c) => c >= 0x20 && c < 0x7f); // A
  return (printable ? JSON.stringify(String.fromCharCode(...shown)) : `0x${toHex(shown)}`) + more;
}

/** The value of a heads entry: the ids sorted ascending, duplicates dropped. */
export function encodeHeads(ids: readonly Uint8Array[]): Uint8Array { // A
  const sorted = [...ids].sort(compareIds);
  const out = new Uint8Array(sorted.length * ID_BYTES);
  let n = 0;
  for (const id of sorted) {
    if (id.length !== ID_BYTES) throw new CorruptionError(`a head id is ${ID_BYTES} bytes, got ${id.length}`);
    if (n > 0 && compareIds(out.subarray((n - 1) * ID_BYTES, n * ID_BYTES), id) === 0) continue;
    out.set(id, n * ID_BYTES);
    n++;
  }
  return out.slice(0, n * ID_BYTES);
}

/** The ids of a heads entry; CorruptionError (naming `key`, when given) unless it is 1+ ids strictly ascending. */
export function decodeHeads(value: Uint8Array, key?: Uint8Array): Uint8Array[] { // PA
  const where = (): string => (key === undefined ? "" : `heads of key ${keyText(key)}: `); // A
  if (value.length === 0 || value.length % ID_BYTES !== 0) throw new CorruptionError(`${where()}a heads entry of ${value.length} bytes is not a whole number of ${ID_BYTES}-byte ids`);
  const out: Uint8Array[] = [];
  for (let at = 0; at < value.length; at += ID_BYTES) {
    const id = value.slice(at, at + ID_BYTES);
    if (out.length > 0 && compareIds(out[out.length - 1]!, id) >= 0) throw new CorruptionError(`${where()}a heads entry's ids are not strictly ascending`);
    out.push(id);
  }
  return out;
}

/** Unsigned bytewise order of ids (the order of a heads entry). */
export function compareIds(a: Uint8Array, b: Uint8Array): number { // A
  for (let i = 0; i < a.length && i < b.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The smallest engine key after every key that starts with `prefix` (for iterate's `lt`); undefined if none (all 0xFF). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | undefined { // A
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i] !== 0xff) {
      const out = prefix.slice(0, i + 1);
      out[i]!++;
      return out;
    }
  }
  return undefined;
}
