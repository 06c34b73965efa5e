/**
 * The properties block: what a table holds, so the manifest, compaction
 * picking and stats can know a table without reading its data.
 *
 * Contents, in this order, nothing after:
 *   varint entryCount (>= 1), deletionCount, keyCount (distinct user keys),
 *   rawKeyBytes, rawValueBytes (sums over entries), dataBytes (data blocks
 *   with trailers = the index block's offset), dataBlockCount, minSeq, maxSeq,
 *   then varint length + bytes of smallestKey, and of largestKey.
 */
import { CorruptionError } from "../../errors.ts";
import { latin1Slice, putLatin1 } from "../../encoding/bytes.ts";
import { getVarint, putVarint, varintLength } from "../../encoding/varint.ts";

export interface TableProperties {
  fileNumber: number;
  entryCount: number;
  deletionCount: number;
  keyCount: number;
  rawKeyBytes: number;
  rawValueBytes: number;
  dataBytes: number;
  dataBlockCount: number;
  minSeq: number;
  maxSeq: number;
  smallestKey: string;
  largestKey: string;
  /** Size of the whole file (not stored: the builder knows it at finish, the reader from the file). */
  fileBytes: number;
}

const NUMBER_FIELDS = [
  "entryCount", "deletionCount", "keyCount", "rawKeyBytes", "rawValueBytes",
  "dataBytes", "dataBlockCount", "minSeq", "maxSeq",
] as const;

export function encodeProperties(p: TableProperties): Uint8Array { // PA
  let size = varintLength(p.smallestKey.length) + p.smallestKey.length + varintLength(p.largestKey.length) + p.largestKey.length;
  for (const f of NUMBER_FIELDS) size += varintLength(p[f]);
  const out = new Uint8Array(size);
  let at = 0;
  for (const f of NUMBER_FIELDS) at = putVarint(out, at, p[f]);
  at = putVarint(out, at, p.smallestKey.length);
  at = putLatin1(out, at, p.smallestKey);
  at = putVarint(out, at, p.largestKey.length);
  putLatin1(out, at, p.largestKey);
  return out;
}

/**
 * Decodes and cross-checks the properties (counts consistent, seq range
 * ordered, key range ordered). `at` is the block's file offset for messages.
 */
export function decodeProperties(contents: Uint8Array, file: string, at: number, fileNumber: number, fileBytes: number): TableProperties { // PA
  const fail = (what: string): never => { // A
    throw new CorruptionError(`sstable properties malformed: ${what}`, { file, offset: at });
  };
  const end = contents.length;
  const nums: number[] = [];
  let next = 0;
  const keys: string[] = [];
  try {
    for (const f of NUMBER_FIELDS) {
      const d = getVarint(contents, next, end, `sstable property ${f}`);
      nums.push(d.value);
      next = d.next;
    }
    for (let i = 0; i < 2; i++) {
      const d = getVarint(contents, next, end, "sstable property key length");
      if (d.next + d.value > end) fail("key runs past the block");
      keys.push(latin1Slice(contents, d.next, d.next + d.value));
      next = d.next + d.value;
    }
  } catch (e) {
    if (e instanceof CorruptionError && e.file === undefined) fail(e.message);
    throw e;
  }
  if (next !== end) fail(`${end - next} bytes after the last field`);
  const [entryCount, deletionCount, keyCount, rawKeyBytes, rawValueBytes, dataBytes, dataBlockCount, minSeq, maxSeq] = nums as [
    number, number, number, number, number, number, number, number, number,
  ];
  const p: TableProperties = {
    fileNumber, entryCount, deletionCount, keyCount, rawKeyBytes, rawValueBytes, dataBytes, dataBlockCount, minSeq, maxSeq,
    smallestKey: keys[0]!, largestKey: keys[1]!, fileBytes,
  };
  if (entryCount < 1 || deletionCount > entryCount || keyCount < 1 || keyCount > entryCount) fail("entry counts disagree");
  if (dataBlockCount < 1 || dataBlockCount > entryCount) fail("data block count disagrees with the entry count");
  if (minSeq > maxSeq) fail("minSeq above maxSeq");
  if (p.smallestKey > p.largestKey) fail("smallest key above largest key");
  if (keyCount > 1 && p.smallestKey === p.largestKey) fail("several keys but one key in the range");
  return p;
}
