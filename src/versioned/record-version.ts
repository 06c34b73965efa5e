/**
 * The API's view of a version record (`Version` in ../shared/API.md): ids
 * and hashes as 64-digit lowercase hex, the HLC timestamp in its text form
 * (hlc.ts), the value size as `size`. The store keeps and hashes the binary
 * record (record.ts); this is the mapping at its public edge, both ways.
 */
import { InvalidArgumentError } from "../errors.ts";
import { toHex } from "../encoding/bytes.ts";
import { formatHlc, parseHlc } from "./hlc.ts";
import { RECORD_HASH_BYTES, type HlcTimestamp, type VersionRecord } from "./record.ts";

/** A version as users see it (API.md). */
export interface Version {
  /** Hex SHA-256 of the canonical record: 64 lowercase hex digits. */
  id: string;
  key: Uint8Array;
  /** Parent ids in hex, ascending. */
  parents: string[];
  /** The HLC timestamp's text form, e.g. "1700000000000-0000001a". */
  hlc: string;
  node: string;
  deleted: boolean;
  /** Hex SHA-256 of the value; 64 zeros for a tombstone. */
  valueHash: string;
  size: number;
}

/** How the HLC's binary form becomes the `hlc` string and back (hlc.ts by default). */
export interface HlcTextCodec {
  format(t: HlcTimestamp): string;
  parse(text: string): HlcTimestamp;
}

/** hlc.ts's canonical 22-character text form. */
export const HLC_TEXT: HlcTextCodec = { format: formatHlc, parse: parseHlc };

const HEX_ID = /^[0-9a-f]{64}$/;

/** A 32-byte id or hash as 64 lowercase hex digits. */
export function hashToHex(b: Uint8Array): string { // A
  if (!(b instanceof Uint8Array) || b.length !== RECORD_HASH_BYTES) throw new InvalidArgumentError(`an id or hash is ${RECORD_HASH_BYTES} bytes`);
  return toHex(b);
}

/** 64 lowercase hex digits back to 32 bytes; any other string (uppercase too) is an InvalidArgumentError. */
export function hashFromHex(hex: string, what = "version id"): Uint8Array { // A
  if (typeof hex !== "string" || !HEX_ID.test(hex)) {
    const shown = typeof hex === "string" ? JSON.stringify(hex.slice(0, 80)) : typeof hex;
    throw new InvalidArgumentError(`${what} ${shown} is not 64 lowercase hex digits`);
  }
  const out = new Uint8Array(RECORD_HASH_BYTES);
  for (let i = 0; i < RECORD_HASH_BYTES; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/**
 * The `Version` of a record whose id is `id` (32 bytes or hex; the caller
 * computed it with versionIdBytes over the record's canonical bytes).
 * Parents come out in the record's order, i.e. ascending.
 */
export function recordToVersion(r: VersionRecord, id: Uint8Array | string, hlc: HlcTextCodec = HLC_TEXT): Version { // A
  return {
    id: typeof id === "string" ? hashToHex(hashFromHex(id)) : hashToHex(id),
    // A copy: the record may be shared (the store's read cache), and the caller may change the Version.
    key: r.key.slice(),
    parents: r.parents.map(hashToHex),
    hlc: hlc.format(r.hlc),
    node: r.node,
    deleted: r.deleted,
    valueHash: hashToHex(r.valueHash),
    size: r.valueSize,
  };
}

/**
 * The record a `Version` describes (e.g. one received as JSON). Its `id` is
 * not trusted: re-encode the record and compare versionId with `v.id`.
 * InvalidArgumentError for a malformed hex id, hash or HLC text.
 */
export function versionToRecord(v: Version, hlc: HlcTextCodec = HLC_TEXT): VersionRecord { // A
  if (!Array.isArray(v.parents)) throw new InvalidArgumentError("version parents must be an array of hex ids");
  return {
    key: v.key,
    parents: v.parents.map((p) => hashFromHex(p, "parent id")),
    hlc: hlc.parse(v.hlc),
    node: v.node,
    deleted: v.deleted,
    valueHash: hashFromHex(v.valueHash, "value hash"),
    valueSize: v.size,
  };
}
