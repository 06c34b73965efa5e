/**
 * WAL recovery: replays the records of one log file in order, verifying
 * every checksum, and reports where valid data ends.
 *
 * What a bad record means depends on the log (SPEC.md, "Recovery"):
 * - the newest log may end in a torn write (power loss mid-append): replay
 *   stops at the first bad record (point-in-time recovery) and the caller
 *   cuts the file there. If valid records with higher sequence numbers follow
 *   the damage, that is not a torn tail but damage in the middle: the result
 *   says so (`damage.recordsAfter`) and the caller keeps a copy of the bytes
 *   it drops.
 * - an older log was complete when it was retired, so any bad record is a
 *   CorruptionError, unless the caller asked for repair, in which case the
 *   reader skips to the next valid record and reports what it skipped.
 *
 * Memory: the file is read in chunks of `chunkBytes` (1 MiB); chunks are
 * never reused because the values handed to `visit` are views into them.
 */
import { CorruptionError } from "../../errors.ts";
import type { FileHandle, FileSystem } from "../../platform/fs.ts";
import { decodeBatchBody, firstPointerProblem, validateBatchBody, type BatchVisitor } from "../write-batch.ts";
import { getU32 } from "../../encoding/fixed.ts";
import {
  checksumSeedOf,
  decodeWalFileHeader,
  peekWalRecordHeader,
  walRecordChecksumOk,
  WAL_FILE_HEADER_BYTES,
  WAL_RECORD_HEADER_BYTES,
  type WalRecordHeader,
} from "./format.ts";

export interface WalDamage {
  /** File offset of the first bad byte. */
  offset: number;
  reason: string;
  /** Bytes skipped (repair) or dropped (newest log). */
  droppedBytes: number;
  /** Valid records found after the damage (0 for a plain torn tail). */
  recordsAfter: number;
}

export interface WalReplayResult {
  path: string;
  logNumber: number | undefined;
  /** Seed of this log's record checksums (undefined when its header is unreadable). */
  checksumSeed: number | undefined;
  fileBytes: number;
  /** Offset just after the last record replayed: where appending may continue. */
  validEndBytes: number;
  lastSeq: number;
  /** Highest sequence number of any checksum-valid record seen, replayed or dropped. */
  maxSeqSeen: number;
  records: number;
  entries: number;
  /** Regions not replayed; empty for a clean log. */
  damage: WalDamage[];
}

export interface WalReplayOptions {
  /** The newest log may have a torn tail; older ones must be intact. */
  newest: boolean;
  /** Skip damaged regions instead of failing (documented repair mode). */
  repair: boolean;
  /** Highest sequence number replayed before this log. */
  lastSeq: number;
  visit: BatchVisitor;
  chunkBytes?: number;
  /**
   * Checks each value-log pointer of a record before the record is applied;
   * a reason makes the record count as damage at its offset (its values did
   * not survive the crash), so replay never applies a pointer to lost bytes.
   */
  pointerCheck?: (key: string, pointer: Uint8Array) => string | undefined;
}

/** Sequential chunked view of a file; `view(pos, n)` yields bytes [pos, pos+n). */
class ChunkReader {
  private buf = new Uint8Array(0);
  private bufStart = 0;
  constructor(private readonly handle: FileHandle, readonly fileBytes: number, private readonly chunkBytes: number) {} // A

  /** The buffer and index where [pos, pos+n) lies, or undefined if the file ends first. */
  view(pos: number, n: number): { buf: Uint8Array; at: number } | undefined { // PA
    if (pos + n > this.fileBytes) return undefined;
    if (pos >= this.bufStart && pos + n <= this.bufStart + this.buf.length) {
      return { buf: this.buf, at: pos - this.bufStart };
    }
    const len = Math.min(this.fileBytes - pos, Math.max(n, this.chunkBytes));
    const fresh = new Uint8Array(len);
    const got = this.handle.read(fresh, pos);
    if (got < n) return undefined;
    this.buf = got === len ? fresh : fresh.subarray(0, got);
    this.bufStart = pos;
    return { buf: this.buf, at: 0 };
  }
}

/** Replays one WAL file. Throws CorruptionError for damage it may not skip. */
export function replayWal(fs: FileSystem, path: string, opts: WalReplayOptions): WalReplayResult { // PA
  const handle = fs.open(path, { readOnly: true });
  try {
    const fileBytes = handle.size();
    const reader = new ChunkReader(handle, fileBytes, opts.chunkBytes ?? 1024 * 1024);
    const result: WalReplayResult = {
      path, logNumber: undefined, checksumSeed: undefined, fileBytes, validEndBytes: 0, lastSeq: opts.lastSeq,
      maxSeqSeen: opts.lastSeq, records: 0, entries: 0, damage: [],
    };
    const header = reader.view(0, WAL_FILE_HEADER_BYTES);
    if (header === undefined) {
      // A log cut inside its own header holds no records: only possible for the newest one.
      if (!opts.newest && !opts.repair) throw new CorruptionError("WAL file shorter than its header", { file: path, offset: 0 });
      result.damage.push({ offset: 0, reason: "header torn", droppedBytes: fileBytes, recordsAfter: 0 });
      return result;
    }
    const headerBytes = header.buf.subarray(header.at, header.at + WAL_FILE_HEADER_BYTES);
    try {
      const h = decodeWalFileHeader(headerBytes, path);
      result.logNumber = h.logNumber;
      result.checksumSeed = h.checksumSeed;
    } catch (e) {
      if (!opts.repair) throw e;
      // Repair: trust the salt as it reads; records verify with it only if it is intact.
      result.checksumSeed = checksumSeedOf(getU32(headerBytes, 20));
      result.damage.push({ offset: 0, reason: "file header damaged", droppedBytes: 0, recordsAfter: 0 });
    }
    result.validEndBytes = WAL_FILE_HEADER_BYTES;
    replayRecords(reader, path, opts, result, new ScanBudget(fileBytes));
    return result;
  } finally {
    handle.close();
  }
}

/**
 * Bounds the checksum work of the damage scan: every candidate header costs a
 * checksum over the length it claims, so garbage claiming large lengths could
 * otherwise cost (candidates x length). Past the budget the scan gives up and
 * reports the rest of the file as damaged.
 */
class ScanBudget {
  private bytesLeft: number;
  constructor(fileBytes: number) { // A
    this.bytesLeft = 4 * fileBytes + 64 * 1024 * 1024;
  }
  spend(bytes: number): boolean { // A
    this.bytesLeft -= bytes;
    return this.bytesLeft >= 0;
  }
}

function replayRecords(reader: ChunkReader, path: string, opts: WalReplayOptions, result: WalReplayResult, budget: ScanBudget): void { // PA
  let pos = WAL_FILE_HEADER_BYTES;
  while (pos < reader.fileBytes) {
    const bad = tryRecord(reader, pos, path, opts, result);
    if (bad === undefined) {
      pos = result.validEndBytes;
      continue;
    }
    const seed = result.checksumSeed!;
    const next = findNextRecord(reader, pos + 1, result.lastSeq, seed, budget);
    const after = next === undefined ? { count: 0, maxSeq: 0 } : countRecordsFrom(reader, next, result.lastSeq, seed, budget);
    result.maxSeqSeen = Math.max(result.maxSeqSeen, after.maxSeq);
    const stop = next === undefined || !opts.repair;
    const droppedBytes = (stop ? reader.fileBytes : next!) - pos;
    if (!opts.newest && !opts.repair) {
      throw new CorruptionError(
        `WAL record damaged (${bad}); ${droppedBytes} bytes and ${after.count} valid records follow. ` +
          "Open with { repair: true } to skip the damaged region",
        { file: path, offset: pos },
      );
    }
    result.damage.push({ offset: pos, reason: bad, droppedBytes, recordsAfter: after.count });
    if (stop) return;
    pos = next!;
    result.validEndBytes = pos;
  }
}

/** Replays the record at `pos`; returns undefined on success or the reason it is bad. */
function tryRecord(reader: ChunkReader, pos: number, path: string, opts: WalReplayOptions, result: WalReplayResult): string | undefined { // PA
  const hv = reader.view(pos, WAL_RECORD_HEADER_BYTES);
  if (hv === undefined) return "record header truncated";
  const h = peekWalRecordHeader(hv.buf, hv.at);
  if (h === undefined) return "record header invalid";
  const rv = reader.view(pos, WAL_RECORD_HEADER_BYTES + h.payloadBytes);
  if (rv === undefined) return "record truncated";
  if (!walRecordChecksumOk(rv.buf, rv.at, h, result.checksumSeed!)) return "record checksum mismatch";
  if (h.firstSeq <= result.lastSeq) {
    if (opts.repair) return `sequence ${h.firstSeq} not after ${result.lastSeq}`;
    throw new CorruptionError(`WAL sequence went backwards (${h.firstSeq} after ${result.lastSeq})`, { file: path, offset: pos });
  }
  const bodyStart = rv.at + WAL_RECORD_HEADER_BYTES;
  let count: number;
  const where = { file: path, offset: pos + WAL_RECORD_HEADER_BYTES };
  const bodyEnd = bodyStart + h.payloadBytes;
  try {
    if (opts.pointerCheck === undefined) {
      count = decodeBatchBody(rv.buf, bodyStart, bodyEnd, h.firstSeq, opts.visit, where);
    } else {
      validateBatchBody(rv.buf, bodyStart, bodyEnd, where);
      const missing = firstPointerProblem(rv.buf, bodyStart, opts.pointerCheck);
      if (missing !== undefined) return missing;
      count = decodeBatchBody(rv.buf, bodyStart, bodyEnd, h.firstSeq, opts.visit, where, true);
    }
  } catch (e) {
    // A record whose checksum holds but whose body is malformed was written wrong: never a torn write.
    if (opts.repair && e instanceof CorruptionError) return `malformed batch: ${e.message}`;
    throw e;
  }
  result.records++;
  result.entries += count;
  result.lastSeq = h.firstSeq + count - 1;
  result.maxSeqSeen = Math.max(result.maxSeqSeen, result.lastSeq);
  result.validEndBytes = pos + WAL_RECORD_HEADER_BYTES + h.payloadBytes;
  return undefined;
}

/** The header of a checksum-valid record with a sequence number after `lastSeq` at `pos`, if there is one. */
function validRecordAt(reader: ChunkReader, pos: number, lastSeq: number, seed: number, budget: ScanBudget): WalRecordHeader | undefined { // PA
  const hv = reader.view(pos, WAL_RECORD_HEADER_BYTES);
  if (hv === undefined) return undefined;
  const h = peekWalRecordHeader(hv.buf, hv.at);
  // Junk left by a failed append carries sequence numbers at or below lastSeq: not data.
  // A batch entry takes at least 3 bytes, so a real record cannot skip more
  // sequence numbers than there are bytes left in the file.
  if (h === undefined || h.firstSeq <= lastSeq || h.firstSeq - lastSeq > reader.fileBytes) return undefined;
  if (pos + WAL_RECORD_HEADER_BYTES + h.payloadBytes > reader.fileBytes) return undefined;
  if (!budget.spend(h.payloadBytes)) return undefined;
  const rv = reader.view(pos, WAL_RECORD_HEADER_BYTES + h.payloadBytes);
  if (rv === undefined || !walRecordChecksumOk(rv.buf, rv.at, h, seed)) return undefined;
  return h;
}

/** Offset of the next valid record at or after `from`, scanning byte by byte. */
function findNextRecord(reader: ChunkReader, from: number, lastSeq: number, seed: number, budget: ScanBudget): number | undefined { // PA
  for (let pos = from; pos + WAL_RECORD_HEADER_BYTES <= reader.fileBytes; pos++) {
    if (validRecordAt(reader, pos, lastSeq, seed, budget) !== undefined) return pos;
    if (!budget.spend(1)) return undefined;
  }
  return undefined;
}

/** How many valid, chained records start at `pos`, and their highest sequence number (for the damage report). */
function countRecordsFrom(reader: ChunkReader, pos: number, lastSeq: number, seed: number, budget: ScanBudget): { count: number; maxSeq: number } { // PA
  let count = 0;
  let maxSeq = 0;
  for (;;) {
    const h = validRecordAt(reader, pos, lastSeq, seed, budget);
    if (h === undefined) return { count, maxSeq };
    count++;
    maxSeq = Math.max(maxSeq, h.firstSeq + recordEntryCountAt(reader, pos) - 1);
    pos += WAL_RECORD_HEADER_BYTES + h.payloadBytes;
  }
}

/** The entry count stored at the start of the body of the record at `pos`. */
function recordEntryCountAt(reader: ChunkReader, pos: number): number { // PA
  const v = reader.view(pos + WAL_RECORD_HEADER_BYTES, 4);
  return v === undefined ? 1 : Math.max(1, getU32(v.buf, v.at));
}
