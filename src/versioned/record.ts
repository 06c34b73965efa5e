/**
 * The version record: what one version of one key says about itself (key,
 * parents, HLC timestamp, writer, deleted flag, value hash and size), in one
 * canonical byte form. A version's id is the hash of these bytes, so two
 * stores agree on an id exactly when they agree on every field, and a record
 * received from a peer can be checked by hashing it again.
 *
 * Canonical: every record has exactly one encoding. Fixed field order,
 * fixed-width little-endian integers (no varints, so no overlong forms),
 * parents sorted ascending and unique, node id as well-formed UTF-8, the
 * length fully determined by the 60-byte header and nothing after the last
 * field. The decoder accepts only such bytes: a decoded record re-encodes to
 * exactly its input, otherwise it is a CorruptionError.
 *
 * Layout (format version 1, algorithm tag 1 = SHA-256; SPEC "Version record"):
 *   0 u8 algorithm tag   1 u8 format version   2 u8 flags (bit 0: deleted)
 *   3 u8 node id bytes (1..64)   4 u16 key bytes   6 u16 parent count (<= 1024)
 *   8 hlc: u64 ms, u32 counter, both BIG-endian (hlc.ts's 12-byte form)
 *   20 u64 value size   28 32B value hash
 *   60 key   then node id (UTF-8)   then parents (32 bytes each, ascending)
 *
 * This module knows no hash function: `versionIdBytes` takes one, so the
 * platform's SHA-256 (native or pure JS) is chosen by the caller.
 *
 * Cost: encode is one allocation of 60 + key + node + 32 * parents bytes and
 * a few copies; decode copies key and parents and decodes <= 64 bytes of
 * UTF-8. A typical record (16 B key, 1 parent, 8 B node) is ~116 bytes;
 * hashing it natively takes ~1-2 us, well inside 10 us per put at 100k/s.
 */
import { CorruptionError, InvalidArgumentError, assert } from "../errors.ts";
import { compareBytes, toHex, utf8Encode } from "../encoding/bytes.ts";
import { getU16, getU32, putU16, putU64 } from "../encoding/fixed.ts";

/** Algorithm tag 1: ids, parent ids and value hashes are SHA-256 (32 bytes). */
export const RECORD_ALGORITHM_SHA256 = 1;
/** The layout this module writes and the only one it reads. */
export const RECORD_FORMAT_VERSION = 1;
/** Bytes of an id, a parent id and a value hash under algorithm 1. */
export const RECORD_HASH_BYTES = 32;
/** Fixed header before key, node id and parents. */
export const RECORD_HEADER_BYTES = 60;
/** Largest key a record holds (the engine's key limit, a u16 length). */
export const RECORD_MAX_KEY_BYTES = 65_535;
/** Node ids are 1..64 bytes of UTF-8. */
export const RECORD_MAX_NODE_BYTES = 64;
/** Most parents one version may supersede (heads of one key being merged). */
export const RECORD_MAX_PARENTS = 1024;
/** Largest value size: the safe-integer range, 2^53-1. */
export const RECORD_MAX_VALUE_SIZE = Number.MAX_SAFE_INTEGER;
/** Largest HLC physical ms: 13 decimal digits, as hlc.ts's text form (year 2286). */
export const RECORD_MAX_HLC_MS = 9_999_999_999_999;
/** Largest HLC logical counter (a u32). */
export const RECORD_MAX_HLC_COUNTER = 0xffff_ffff;
/** Smallest record: header, empty key, 1-byte node id, no parents. */
export const VERSION_RECORD_MIN_BYTES = RECORD_HEADER_BYTES + 1;
/** Largest record: 60 + 65,535 + 64 + 1024 * 32 = 98,427 bytes. */
export const VERSION_RECORD_MAX_BYTES =
  RECORD_HEADER_BYTES + RECORD_MAX_KEY_BYTES + RECORD_MAX_NODE_BYTES + RECORD_MAX_PARENTS * RECORD_HASH_BYTES;

const FLAG_DELETED = 0x01;

/** A tombstone's value hash: 32 zero bytes ("no value"; a live value never hashes to it). */
export const TOMBSTONE_VALUE_HASH: Uint8Array = new Uint8Array(RECORD_HASH_BYTES);

/** A hybrid-logical-clock timestamp in binary form (hlc.ts owns the string form). */
export interface HlcTimestamp {
  /** Physical milliseconds, 0 .. 9,999,999,999,999. */
  ms: number;
  /** Logical counter, 0 .. 2^32-1. */
  counter: number;
}

/** One version of one key, with ids and hashes as bytes. */
export interface VersionRecord {
  key: Uint8Array;
  /** Ids (32 bytes each) of the versions this one supersedes; any order in, sorted and unique out. */
  parents: Uint8Array[];
  hlc: HlcTimestamp;
  /** The writer's node id: 1..64 bytes of UTF-8, well-formed. */
  node: string;
  deleted: boolean;
  /** SHA-256 of the value (32 bytes); TOMBSTONE_VALUE_HASH for a tombstone. */
  valueHash: Uint8Array;
  /** Value length in bytes, 0 .. 2^53-1; 0 for a tombstone. */
  valueSize: number;
}

/** Where the bytes came from, for the CorruptionError's message. */
export interface RecordPlace {
  /** Names the record, e.g. `version 3fa4... of key "k"`; default "version record". */
  what?: string;
  file?: string;
  offset?: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes UTF-8 only if it is well-formed; a BOM stays a character, so bytes round-trip. */
function decodeStrictUtf8(b: Uint8Array): string | undefined { // PA
  try {
    return strictUtf8.decode(b);
  } catch {
    return undefined;
  }
}

/**
 * A node id's UTF-8 bytes; InvalidArgumentError unless it is a well-formed
 * string (no lone surrogates) of 1..64 UTF-8 bytes. A store checks its
 * `nodeId` option with this once, at open.
 */
export function nodeIdBytes(node: string): Uint8Array { // A
  if (typeof node !== "string") throw new InvalidArgumentError(`node id must be a string, got ${typeof node}`);
  const b = utf8Encode(node);
  if (b.length < 1 || b.length > RECORD_MAX_NODE_BYTES) {
    throw new InvalidArgumentError(`node id takes ${b.length} bytes of UTF-8; it must take 1..${RECORD_MAX_NODE_BYTES}`);
  }
  if (decodeStrictUtf8(b) !== node) throw new InvalidArgumentError("node id is not well-formed Unicode (a lone surrogate?)");
  return b;
}

/** InvalidArgumentError unless `t` is a binary HLC timestamp within range. */
export function checkHlcTimestamp(t: HlcTimestamp): void { // A
  if (typeof t !== "object" || t === null) throw new InvalidArgumentError("hlc must be { ms, counter }");
  if (!Number.isInteger(t.ms) || t.ms < 0 || t.ms > RECORD_MAX_HLC_MS) {
    throw new InvalidArgumentError(`hlc ms ${String(t.ms)} is not an integer in 0..${RECORD_MAX_HLC_MS}`);
  }
  if (!Number.isInteger(t.counter) || t.counter < 0 || t.counter > RECORD_MAX_HLC_COUNTER) {
    throw new InvalidArgumentError(`hlc counter ${String(t.counter)} is not an integer in 0..2^32-1`);
  }
}

/** True when all bytes are zero. */
function isZero(b: Uint8Array): boolean { // A
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/** The parents sorted ascending with duplicates dropped; InvalidArgumentError on a wrong-sized id. */
function canonicalParents(parents: readonly Uint8Array[]): Uint8Array[] { // A
  if (!Array.isArray(parents)) throw new InvalidArgumentError("parents must be an array of 32-byte ids");
  for (const p of parents) {
    if (!(p instanceof Uint8Array) || p.length !== RECORD_HASH_BYTES) {
      throw new InvalidArgumentError(`a parent id must be ${RECORD_HASH_BYTES} bytes`);
    }
  }
  const sorted = [...parents].sort(compareBytes);
  const out: Uint8Array[] = [];
  for (const p of sorted) if (out.length === 0 || compareBytes(out[out.length - 1]!, p) !== 0) out.push(p);
  if (out.length > RECORD_MAX_PARENTS) {
    throw new InvalidArgumentError(`a version supersedes at most ${RECORD_MAX_PARENTS} parents, got ${out.length}`);
  }
  return out;
}

/** InvalidArgumentError unless key, value hash, size and deleted flag are consistent and in range. */
function checkRecordFields(r: VersionRecord): void { // A
  if (!(r.key instanceof Uint8Array) || r.key.length > RECORD_MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`key must be a Uint8Array of at most ${RECORD_MAX_KEY_BYTES} bytes`);
  }
  if (!(r.valueHash instanceof Uint8Array) || r.valueHash.length !== RECORD_HASH_BYTES) {
    throw new InvalidArgumentError(`value hash must be ${RECORD_HASH_BYTES} bytes`);
  }
  if (!Number.isSafeInteger(r.valueSize) || r.valueSize < 0) {
    throw new InvalidArgumentError(`value size ${String(r.valueSize)} is not an integer in 0..2^53-1`);
  }
  if (typeof r.deleted !== "boolean") throw new InvalidArgumentError("deleted must be a boolean");
  if (r.deleted && (r.valueSize !== 0 || !isZero(r.valueHash))) {
    throw new InvalidArgumentError("a tombstone has value size 0 and the all-zero value hash");
  }
  if (!r.deleted && isZero(r.valueHash)) throw new InvalidArgumentError("a live version's value hash cannot be all zeros");
  checkHlcTimestamp(r.hlc);
}

/**
 * The record's canonical bytes. Parents may come in any order and with
 * repeats (they are a set). InvalidArgumentError, before anything is built,
 * for a field out of range.
 */
export function encodeVersionRecord(r: VersionRecord): Uint8Array { // PA
  checkRecordFields(r);
  const node = nodeIdBytes(r.node);
  const parents = canonicalParents(r.parents);
  const keyAt = RECORD_HEADER_BYTES;
  const nodeAt = keyAt + r.key.length;
  const parentsAt = nodeAt + node.length;
  const out = new Uint8Array(parentsAt + parents.length * RECORD_HASH_BYTES);
  out[0] = RECORD_ALGORITHM_SHA256;
  out[1] = RECORD_FORMAT_VERSION;
  out[2] = r.deleted ? FLAG_DELETED : 0;
  out[3] = node.length;
  putU16(out, 4, r.key.length);
  putU16(out, 6, parents.length);
  putHlc(out, 8, r.hlc);
  putU64(out, 20, r.valueSize);
  out.set(r.valueHash, 28);
  out.set(r.key, keyAt);
  out.set(node, nodeAt);
  for (let i = 0; i < parents.length; i++) out.set(parents[i]!, parentsAt + i * RECORD_HASH_BYTES);
  assert(out.length >= VERSION_RECORD_MIN_BYTES && out.length <= VERSION_RECORD_MAX_BYTES, "encoded version record size within its bounds");
  return out;
}

/** The 12-byte HLC form: u64 ms then u32 counter, big-endian (bytewise order = timestamp order). */
function putHlc(out: Uint8Array, at: number, t: HlcTimestamp): void { // PA
  const hi = Math.floor(t.ms / 4_294_967_296);
  const lo = t.ms - hi * 4_294_967_296;
  putU32BE(out, at, hi);
  putU32BE(out, at + 4, lo);
  putU32BE(out, at + 8, t.counter);
}

function putU32BE(out: Uint8Array, at: number, v: number): void { // A
  out[at] = (v >>> 24) & 0xff;
  out[at + 1] = (v >>> 16) & 0xff;
  out[at + 2] = (v >>> 8) & 0xff;
  out[at + 3] = v & 0xff;
}

function getU32BE(b: Uint8Array, at: number): number { // A
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** Builds the CorruptionError for `place`. */
function corrupt(place: RecordPlace | undefined, problem: string): CorruptionError { // A
  return new CorruptionError(`${place?.what ?? "version record"}: ${problem}`, { file: place?.file, offset: place?.offset });
}

/** A u64 at `at` that must stay below 2^53. */
function readU53(b: Uint8Array, at: number, field: string, place: RecordPlace | undefined): number { // PA
  const lo = getU32(b, at);
  const hi = getU32(b, at + 4);
  if (hi > 0x1f_ffff) throw corrupt(place, `${field} exceeds 2^53-1`);
  return hi * 4_294_967_296 + lo;
}

/** Reads the 12-byte HLC form; ms beyond RECORD_MAX_HLC_MS is corruption. */
function readHlc(b: Uint8Array, at: number, place: RecordPlace | undefined): HlcTimestamp { // PA
  const ms = getU32BE(b, at) * 4_294_967_296 + getU32BE(b, at + 4);
  if (ms > RECORD_MAX_HLC_MS) throw corrupt(place, `hlc ms ${ms} exceeds ${RECORD_MAX_HLC_MS}`);
  return { ms, counter: getU32BE(b, at + 8) };
}

/** Checks the fixed header's tag, version, flags and counts; returns the counts. */
function readHeader(b: Uint8Array, place: RecordPlace | undefined): { keyBytes: number; nodeBytes: number; parentCount: number } { // PA
  if (b.length < VERSION_RECORD_MIN_BYTES) throw corrupt(place, `${b.length} bytes is shorter than the smallest record (${VERSION_RECORD_MIN_BYTES})`);
  if (b.length > VERSION_RECORD_MAX_BYTES) throw corrupt(place, `${b.length} bytes is longer than the largest record (${VERSION_RECORD_MAX_BYTES})`);
  if (b[0] !== RECORD_ALGORITHM_SHA256) throw corrupt(place, `unknown hash algorithm tag ${b[0]}`);
  if (b[1] !== RECORD_FORMAT_VERSION) throw corrupt(place, `unknown format version ${b[1]}`);
  if ((b[2]! & ~FLAG_DELETED) !== 0) throw corrupt(place, `unknown flag bits 0x${b[2]!.toString(16)}`);
  const nodeBytes = b[3]!;
  if (nodeBytes < 1 || nodeBytes > RECORD_MAX_NODE_BYTES) throw corrupt(place, `node id length ${nodeBytes} is outside 1..${RECORD_MAX_NODE_BYTES}`);
  const keyBytes = getU16(b, 4);
  const parentCount = getU16(b, 6);
  if (parentCount > RECORD_MAX_PARENTS) throw corrupt(place, `${parentCount} parents exceed the limit of ${RECORD_MAX_PARENTS}`);
  const expected = RECORD_HEADER_BYTES + keyBytes + nodeBytes + parentCount * RECORD_HASH_BYTES;
  if (b.length !== expected) throw corrupt(place, `${b.length} bytes where the header describes ${expected}`);
  return { keyBytes, nodeBytes, parentCount };
}

/** Reads the parents at `at`, which must be strictly ascending (sorted, no repeats). */
function readParents(b: Uint8Array, at: number, count: number, place: RecordPlace | undefined): Uint8Array[] { // PA
  const parents: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const p = b.slice(at + i * RECORD_HASH_BYTES, at + (i + 1) * RECORD_HASH_BYTES);
    if (i > 0 && compareBytes(parents[i - 1]!, p) >= 0) throw corrupt(place, `parent ${i} is not above parent ${i - 1} (parents must be sorted and unique)`);
    parents.push(p);
  }
  return parents;
}

/**
 * Decodes `bytes`, which must be exactly one canonical record. Anything
 * else (wrong tag or version, unknown flags, a length that disagrees with
 * the header, a value out of range, malformed UTF-8, unsorted or repeated
 * parents, an inconsistent tombstone) is a CorruptionError naming `place`;
 * no other exception escapes. The result shares no memory with `bytes`.
 */
export function decodeVersionRecord(bytes: Uint8Array, place?: RecordPlace): VersionRecord { // PA
  if (!(bytes instanceof Uint8Array)) throw corrupt(place, "not a byte array");
  const { keyBytes, nodeBytes, parentCount } = readHeader(bytes, place);
  const deleted = (bytes[2]! & FLAG_DELETED) !== 0;
  const hlc = readHlc(bytes, 8, place);
  const valueSize = readU53(bytes, 20, "value size", place);
  const valueHash = bytes.slice(28, RECORD_HEADER_BYTES);
  if (deleted && (valueSize !== 0 || !isZero(valueHash))) throw corrupt(place, "a tombstone with a value size or value hash");
  if (!deleted && isZero(valueHash)) throw corrupt(place, "a live version with the all-zero (tombstone) value hash");
  const nodeAt = RECORD_HEADER_BYTES + keyBytes;
  const key = bytes.slice(RECORD_HEADER_BYTES, nodeAt);
  const nodeRaw = bytes.subarray(nodeAt, nodeAt + nodeBytes);
  const node = decodeStrictUtf8(nodeRaw);
  if (node === undefined) throw corrupt(place, `node id ${toHex(nodeRaw)} is not well-formed UTF-8`);
  const parents = readParents(bytes, nodeAt + nodeBytes, parentCount, place);
  return { key, parents, hlc, node, deleted, valueHash, valueSize };
}

/**
 * The id of an encoded record: the hash named by its algorithm tag, over all
 * of its bytes. `sha256` is the platform's (src/platform/sha256.ts). A tag
 * other than 1 is a CorruptionError (an id cannot be computed for it). The
 * bytes are not otherwise checked: decode them first if they are untrusted.
 */
export function versionIdBytes(bytes: Uint8Array, sha256: (data: Uint8Array) => Uint8Array): Uint8Array { // PA
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) throw corrupt(undefined, "no bytes to hash");
  if (bytes[0] !== RECORD_ALGORITHM_SHA256) throw corrupt(undefined, `unknown hash algorithm tag ${bytes[0]}`);
  const id = sha256(bytes);
  assert(id instanceof Uint8Array && id.length === RECORD_HASH_BYTES, "SHA-256 returns 32 bytes");
  return id;
}

/** The id as the API shows it: 64 lowercase hex digits, no algorithm prefix (the tag lives in the bytes). */
export function versionId(bytes: Uint8Array, sha256: (data: Uint8Array) => Uint8Array): string { // PA
  return toHex(versionIdBytes(bytes, sha256));
}
