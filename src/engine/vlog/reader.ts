/**
 * Reads one value through its pointer: one positional read of the whole
 * record, then every check before a byte is handed out (record length,
 * header check, record checksum, the pointer's checksum, the file number
 * folded into both checksums, optionally the key and sequence number).
 *
 * Cost sketch: one read call (~a few us plus the copy, or a device read on
 * a cache miss) and CRC32C over the record (~180 us for 64 KiB at
 * ~370 MB/s); the only allocation is the record buffer, whose value part is
 * returned without another copy.
 */
import { CorruptionError, assert } from "../../errors.ts";
import type { FileHandle } from "../../platform/fs.ts";
import { VLOG_RECORD_HEADER_BYTES, checkVlogRecordHeader, vlogChecksumSeed, vlogRecordChecksumOk } from "./format.ts";
import type { ValuePointer } from "./pointer.ts";

/**
 * The pointer's record reaches past the end of its file: the bytes never
 * reached the disk (a power loss before their fsync; recovery treats the
 * log record holding the pointer as torn) or were cut off. Outside
 * recovery it is corruption, and as a subclass of CorruptionError it is
 * treated so by every caller that does not ask.
 */
export class ValueBeyondEndError extends CorruptionError {
  /** Bytes the read returned (the file's end lies at offset + this). */
  readonly bytesPresent: number;
  constructor(file: string, offset: number, length: number, bytesPresent: number) { // A
    super(`value-log record of ${length} bytes reaches past the end of the file (${bytesPresent} bytes present)`, { file, offset });
    this.bytesPresent = bytesPresent;
  }
}

/** Expectations a caller can add to the pointer's own checks. */
export interface ReadExpect {
  /** The record must belong to this key (latin1). */
  key?: string;
  /** The record must carry this sequence number. */
  seq?: number;
}

/**
 * The value `pointer` names in the file open as `handle`, as a fresh
 * Uint8Array (a view of the record buffer: its `.buffer` also holds the
 * record header and key). CorruptionError naming the file and offset on any
 * mismatch; ValueBeyondEndError if the record is not wholly in the file.
 * `expected` may be the key alone (latin1) or { key, seq }.
 */
export function readValue(handle: FileHandle, pointer: ValuePointer, expected?: string | ReadExpect): Uint8Array { // PA
  const file = handle.path;
  const { offset, length } = pointer;
  assert(length >= VLOG_RECORD_HEADER_BYTES, "a decoded pointer names at least a record header");
  const rec = new Uint8Array(length);
  const got = handle.read(rec, offset);
  if (got < length) throw new ValueBeyondEndError(file, offset, length, got);
  const seed = vlogChecksumSeed(pointer.fileNumber);
  const h = checkVlogRecordHeader(rec, 0, seed, file, offset);
  if (h === "badCheck") throw new CorruptionError("value-log record header check mismatch (wrong pointer or damaged record)", { file, offset });
  if (h.recordBytes !== length) {
    throw new CorruptionError(`value-log record is ${h.recordBytes} bytes but its pointer says ${length}`, { file, offset });
  }
  if (h.checksum !== pointer.checksum) throw new CorruptionError("value-log record is not the one its pointer names (checksum differs)", { file, offset });
  if (!vlogRecordChecksumOk(rec, 0, h, seed)) throw new CorruptionError("value-log record checksum mismatch", { file, offset });
  const want = typeof expected === "string" ? { key: expected } : expected;
  if (want?.key !== undefined && !keyEquals(rec, VLOG_RECORD_HEADER_BYTES, h.keyBytes, want.key)) {
    throw new CorruptionError(`value-log record belongs to another key than ${JSON.stringify(want.key.slice(0, 64))}`, { file, offset });
  }
  if (want?.seq !== undefined && h.seq !== want.seq) {
    throw new CorruptionError(`value-log record has sequence number ${h.seq}, expected ${want.seq}`, { file, offset });
  }
  return rec.subarray(VLOG_RECORD_HEADER_BYTES + h.keyBytes);
}

function keyEquals(buf: Uint8Array, at: number, keyBytes: number, key: string): boolean { // A
  if (key.length !== keyBytes) return false;
  for (let i = 0; i < keyBytes; i++) if (buf[at + i] !== key.charCodeAt(i)) return false;
  return true;
}
