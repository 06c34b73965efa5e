/**
 * Reads a value-log file front to back in bounded memory, for GC (which
 * asks the LSM, for each record's (key, seq), whether that version still
 * points here) and for recovery (which needs the end of the last whole
 * record before it appends again).
 *
 * Memory: one window of `chunkBytes` (default 1 MiB) plus the current key,
 * whatever the file or value size: a 128 MiB value is checksummed piece by
 * piece through the window. Cost: one read call per chunk and CRC32C over
 * every byte (~370 MB/s, so a 50 MB file takes ~0.15 s); with
 * `verifyValues: false` only headers and keys are checked (the header check
 * keeps the framing trustworthy) and the value bytes are skipped.
 *
 * The scan stops at the first record that is not whole and valid, and says
 * why in `end`:
 * - "clean": the last record ends exactly at the end of the file;
 * - "torn": a write cut short by a crash: the file ends inside a record
 *   header, or a record whose header checks out runs past the end of the
 *   file, or every byte from the record's start to the end is zero (a size
 *   that reached the disk before its data). Nothing whole lies past
 *   `validEndBytes`, so cutting the file there loses nothing;
 * - "corrupt": anything else (a header or record checksum mismatch with
 *   non-zero bytes after it, impossible header fields). `error` is a
 *   CorruptionError naming the file and offset; `nextValidOffset` is where
 *   the next valid record starts if a bounded byte-by-byte search found one
 *   (damage in the middle followed by valid data). Never cut such a file.
 */
import { CorruptionError, InvalidArgumentError, assert } from "../../errors.ts";
import { crc32cUpdate, unmaskCrc } from "../../encoding/crc32c.ts";
import { latin1Slice } from "../../encoding/bytes.ts";
import type { FileHandle } from "../../platform/fs.ts";
import {
  VLOG_FILE_HEADER_BYTES, VLOG_MAGIC, VLOG_RECORD_HEADER_BYTES, checkVlogRecordHeader, decodeVlogFileHeader, type VlogRecordHeader,
} from "./format.ts";
import type { ValuePointer } from "./pointer.ts";

export interface ScannedRecord {
  offset: number;
  /** Whole record length (header + key + value). */
  length: number;
  seq: number;
  /** The key, latin1. */
  key: string;
  valueBytes: number;
  /** The pointer that names this record (compare with the LSM's, e.g. with samePointer). */
  pointer: ValuePointer;
}

export type ScanStatus = "clean" | "torn" | "corrupt";

export interface ScanEnd {
  status: ScanStatus;
  /** End of the last whole, valid record (the header's end if none; 0 if the header itself is torn). */
  validEndBytes: number;
  /** File size when the scan began; the scan never looks past it. */
  fileSizeBytes: number;
  /** Records yielded. */
  records: number;
  /** For "torn": what was cut. */
  reason?: string;
  /** For "corrupt": the error naming file and offset. */
  error?: CorruptionError;
  /** For "corrupt": offset of a valid record found after the damage, if the bounded search found one. */
  nextValidOffset?: number;
}

export interface ScanOptions {
  /** A record boundary to start at (default: the first record, offset 28). */
  startOffset?: number;
  /** Read size and the window's memory (default 1 MiB, at least 64 bytes). */
  chunkBytes?: number;
  /** Check every record checksum (default true); false checks headers and keys only and skips value bytes. */
  verifyValues?: boolean;
  /** How far past damage to look for a valid record (default 4 MiB). */
  resyncMaxBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 1024 * 1024;
const DEFAULT_RESYNC_MAX_BYTES = 4 * 1024 * 1024;

export class ValueLogScanner implements Iterable<ScannedRecord> {
  /** Set once `next()` has returned undefined. */
  end: ScanEnd | undefined;
  readonly fileSizeBytes: number;
  private fileNumber = 0;
  private seed = 0;
  private at: number;
  private records = 0;
  private readonly win: Uint8Array;
  private winStart = 0;
  private winLen = 0;
  private readonly verifyValues: boolean;
  private readonly resyncMaxBytes: number;

  constructor(private readonly handle: FileHandle, private readonly path: string, expectedFileNumber?: number, options: ScanOptions = {}) { // PA
    const chunk = options.chunkBytes ?? DEFAULT_CHUNK_BYTES;
    if (!Number.isSafeInteger(chunk) || chunk < 64) throw new InvalidArgumentError(`scan chunkBytes must be an integer >= 64, got ${chunk}`);
    this.win = new Uint8Array(chunk);
    this.verifyValues = options.verifyValues ?? true;
    this.resyncMaxBytes = options.resyncMaxBytes ?? DEFAULT_RESYNC_MAX_BYTES;
    this.fileSizeBytes = handle.size();
    this.at = options.startOffset ?? VLOG_FILE_HEADER_BYTES;
    if (!Number.isSafeInteger(this.at) || this.at < VLOG_FILE_HEADER_BYTES) {
      throw new InvalidArgumentError(`scan startOffset must be >= ${VLOG_FILE_HEADER_BYTES}, got ${this.at}`);
    }
    this.readFileHeader(expectedFileNumber);
    if (this.end === undefined && this.at > this.fileSizeBytes) {
      this.finish("corrupt", this.fileSizeBytes, { error: this.corrupt(`file of ${this.fileSizeBytes} bytes is shorter than the scan start`, this.fileSizeBytes) });
    }
  }

  /** Offset of the next record to read (a record boundary): where a later scan can resume. */
  get offset(): number { // A
    return this.at;
  }

  [Symbol.iterator](): Iterator<ScannedRecord> { // A
    return { next: (): IteratorResult<ScannedRecord> => { // A
      const r = this.next();
      return r === undefined ? { done: true, value: undefined } : { done: false, value: r };
    } };
  }

  /** The next whole, valid record, or undefined at the end (then `end` says why). */
  next(): ScannedRecord | undefined { // PA
    if (this.end !== undefined) return undefined;
    const at = this.at;
    const size = this.fileSizeBytes;
    if (at === size) return this.finish("clean", at, {});
    if (size - at < VLOG_RECORD_HEADER_BYTES) return this.finish("torn", at, { reason: `file ends inside the record header at ${at}` });
    let h: VlogRecordHeader | "badCheck";
    try {
      this.fill(at, VLOG_RECORD_HEADER_BYTES);
      h = checkVlogRecordHeader(this.win, at - this.winStart, this.seed, this.path, at);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      return this.finishCorrupt(at, e);
    }
    if (h === "badCheck") {
      if (this.zerosToEnd(at)) return this.finish("torn", at, { reason: `zeros from ${at} to the end of the file` });
      return this.finishCorrupt(at, this.corrupt("value-log record header check mismatch", at));
    }
    if (h.recordBytes > size - at) return this.finish("torn", at, { reason: `record at ${at} runs past the end of the file` });
    const key = this.readKey(at, h.keyBytes);
    if (this.verifyValues && !this.bodyChecksumOk(at, h)) {
      return this.finishCorrupt(at, this.corrupt("value-log record checksum mismatch", at));
    }
    this.at = at + h.recordBytes;
    this.records++;
    assert(this.at > at && this.at <= size, "a scanned record moves forward within the file");
    const pointer = { fileNumber: this.fileNumber, offset: at, length: h.recordBytes, checksum: h.checksum };
    return { offset: at, length: h.recordBytes, seq: h.seq, key, valueBytes: h.valueBytes, pointer };
  }

  /** Reads and checks the file header; a torn or damaged one ends the scan before any record. */
  private readFileHeader(expectedFileNumber: number | undefined): void { // PA
    const got = this.fillAt(0);
    const n = Math.min(got, VLOG_FILE_HEADER_BYTES);
    if (n < VLOG_FILE_HEADER_BYTES || this.allZero(0, n)) {
      // Created but the header never (wholly) reached the disk: the file holds nothing. What is
      // there must look like that: a short prefix of a header, or zeros to the end of the file.
      const looksTorn = n < VLOG_FILE_HEADER_BYTES
        ? this.allZero(0, n) || this.matchesMagic(Math.min(n, VLOG_MAGIC.length))
        : this.zerosToEnd(0);
      if (looksTorn) this.finish("torn", 0, { reason: `file header incomplete (${n} of ${VLOG_FILE_HEADER_BYTES} bytes)` });
      else this.finish("corrupt", 0, { error: this.corrupt("not a value-log file (bad magic)", 0) });
      return;
    }
    try {
      const h = decodeVlogFileHeader(this.win.subarray(0, VLOG_FILE_HEADER_BYTES), this.path, expectedFileNumber);
      this.fileNumber = h.fileNumber;
      this.seed = h.checksumSeed;
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.finish("corrupt", 0, { error: e });
    }
  }

  /** Makes `n` bytes at file offset `at` (n <= window, inside the file) available in the window. */
  private fill(at: number, n: number): void { // A
    if (at >= this.winStart && at + n <= this.winStart + this.winLen) return;
    const got = this.fillAt(at);
    assert(got >= Math.min(n, this.fileSizeBytes - at), `read at ${at} of ${this.path} returned the bytes the file size promised`);
  }

  /** Reads the window at file offset `at`; returns the bytes now in it (never past the scan's file size). */
  private fillAt(at: number): number { // A
    const want = Math.max(0, Math.min(this.win.length, this.fileSizeBytes - at));
    this.winStart = at;
    this.winLen = want === 0 ? 0 : this.handle.read(this.win.subarray(0, want), at);
    return this.winLen;
  }

  /** True when the first `n` bytes of the window equal the first `n` bytes of the magic. */
  private matchesMagic(n: number): boolean { // A
    for (let i = 0; i < n; i++) if (this.win[i] !== VLOG_MAGIC[i]) return false;
    return true;
  }

  private allZero(from: number, to: number): boolean { // A
    for (let i = from; i < to; i++) if (this.win[i] !== 0) return false;
    return true;
  }

  /** True when every byte from `at` to the end of the file is zero (bounded by the file size). */
  private zerosToEnd(at: number): boolean { // PA
    let pos = at;
    while (pos < this.fileSizeBytes) {
      const n = Math.min(this.win.length, this.fileSizeBytes - pos);
      this.fill(pos, n);
      const from = pos - this.winStart;
      if (!this.allZero(from, from + n)) return false;
      pos += n;
    }
    return true;
  }

  /** The record's key (latin1), gathered through the window. */
  private readKey(at: number, keyBytes: number): string { // PA
    let key = "";
    let pos = at + VLOG_RECORD_HEADER_BYTES;
    const end = pos + keyBytes;
    while (pos < end) {
      const n = Math.min(this.win.length, end - pos);
      this.fill(pos, n);
      const from = pos - this.winStart;
      key += latin1Slice(this.win, from, from + n);
      pos += n;
    }
    return key;
  }

  /** Streams CRC32C over the record's bytes [4, end) through the window. */
  private bodyChecksumOk(at: number, h: VlogRecordHeader): boolean { // PA
    let crc = this.seed;
    let pos = at + 4;
    const end = at + h.recordBytes;
    while (pos < end) {
      const n = Math.min(this.win.length, end - pos);
      this.fill(pos, n);
      const from = pos - this.winStart;
      crc = crc32cUpdate(crc, this.win, from, from + n);
      pos += n;
    }
    return unmaskCrc(h.checksum) === crc;
  }

  /**
   * Looks byte by byte, up to `resyncMaxBytes` past `bad`, for a record whose
   * header check, fields and (always) record checksum hold: evidence that
   * the damage sits in the middle of data, not at a torn tail.
   */
  private findNextValid(bad: number): number | undefined { // PA
    const last = Math.min(this.fileSizeBytes - VLOG_RECORD_HEADER_BYTES, bad + this.resyncMaxBytes);
    for (let pos = bad + 1; pos <= last; pos++) {
      this.fill(pos, VLOG_RECORD_HEADER_BYTES);
      let h: VlogRecordHeader | "badCheck";
      try {
        h = checkVlogRecordHeader(this.win, pos - this.winStart, this.seed, this.path, pos);
      } catch {
        continue;
      }
      if (h === "badCheck" || h.recordBytes > this.fileSizeBytes - pos) continue;
      if (this.bodyChecksumOk(pos, h)) return pos;
    }
    return undefined;
  }

  private finishCorrupt(at: number, error: CorruptionError): undefined { // A
    return this.finish("corrupt", at, { error, nextValidOffset: this.findNextValid(at) });
  }

  private corrupt(message: string, offset: number): CorruptionError { // A
    return new CorruptionError(message, { file: this.path, offset });
  }

  private finish(status: ScanStatus, validEndBytes: number, extra: Partial<ScanEnd>): undefined { // A
    this.end = { status, validEndBytes, fileSizeBytes: this.fileSizeBytes, records: this.records, ...extra };
    return undefined;
  }
}
