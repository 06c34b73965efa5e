/**
 * Writer and reader of one MANIFEST-NNNNNN file (format: manifest-format.ts).
 *
 * The writer lays down the header and a snapshot record in one write, then
 * appends one record per edit at its logical end; the caller fsyncs before
 * it acknowledges the edit. The reader returns the records in order and
 * tells a torn tail (the last append cut short by a crash: never
 * acknowledged, dropped) from damage (a checksum failure anywhere else:
 * CorruptionError naming file and offset).
 *
 * Cost sketch: a manifest is small (rotated at a few MiB), read whole once
 * per open; an edit append is one positional write of ~100 bytes plus the
 * caller's fsync, which dominates (~ms).
 */
import { CorruptionError } from "../../errors.ts";
import type { FileHandle, FileSystem } from "../../platform/fs.ts";
import { joinPath } from "../../platform/fs.ts";
import {
  decodeManifestHeader, decodeManifestRecordHeader, encodeManifestHeader, encodeManifestRecord, manifestChecksumSeed,
  manifestFileName, manifestRecordChecksumOk, MANIFEST_FILE_HEADER_BYTES, MANIFEST_RECORD_EDIT, MANIFEST_RECORD_HEADER_BYTES,
  MANIFEST_RECORD_MAX_PAYLOAD_BYTES, MANIFEST_RECORD_SNAPSHOT,
} from "./manifest-format.ts";
import { decodeVersionEdit, encodeVersionEdit, type VersionEdit } from "./version-edit.ts";

export class ManifestWriter {
  readonly manifestNumber: number;
  readonly path: string;
  private readonly handle: FileHandle;
  private readonly checksumSeed: number;
  private end: number;

  private constructor(manifestNumber: number, path: string, handle: FileHandle, checksumSeed: number, end: number) { // A
    this.manifestNumber = manifestNumber;
    this.path = path;
    this.handle = handle;
    this.checksumSeed = checksumSeed;
    this.end = end;
  }

  /** Creates (or truncates) the manifest and writes header + snapshot in one write. Not yet durable. */
  static create(fs: FileSystem, dir: string, manifestNumber: number, salt: number, snapshot: VersionEdit): ManifestWriter { // PA
    const path = joinPath(dir, manifestFileName(manifestNumber));
    const seed = manifestChecksumSeed(salt);
    const header = encodeManifestHeader(manifestNumber, salt);
    const rec = encodeManifestRecord(MANIFEST_RECORD_SNAPSHOT, boundedPayload(encodeVersionEdit(snapshot)), seed);
    const bytes = new Uint8Array(header.length + rec.length);
    bytes.set(header, 0);
    bytes.set(rec, header.length);
    const handle = fs.open(path, { create: true, truncate: true });
    try {
      handle.write(bytes, 0);
    } catch (e) {
      handle.close();
      throw e;
    }
    return new ManifestWriter(manifestNumber, path, handle, seed, bytes.length);
  }

  /** Bytes written so far (header and records). */
  get sizeBytes(): number { // A
    return this.end;
  }

  /** Writes one edit record at the logical end. Not durable until sync(). */
  append(edit: VersionEdit): void { // PA
    const rec = encodeManifestRecord(MANIFEST_RECORD_EDIT, boundedPayload(encodeVersionEdit(edit)), this.checksumSeed);
    this.handle.write(rec, this.end);
    this.end += rec.length;
  }

  sync(): Promise<void> { // A
    return this.handle.sync();
  }

  close(): void { // A
    this.handle.close();
  }
}

function boundedPayload(payload: Uint8Array): Uint8Array { // A
  if (payload.length > MANIFEST_RECORD_MAX_PAYLOAD_BYTES) {
    throw new CorruptionError(`version edit of ${payload.length} bytes exceeds the manifest record limit`);
  }
  return payload;
}

/** One record as read back. */
export interface ManifestRecord {
  type: number;
  edit: VersionEdit;
  /** Offset of the record's header in the file. */
  offset: number;
}

export interface ManifestContents {
  file: string;
  manifestNumber: number;
  records: ManifestRecord[];
  /** Bytes dropped at the end as a torn append (0 when the file ends on a record boundary). */
  tornTailBytes: number;
}

function allZero(buf: Uint8Array, start: number, end: number): boolean { // A
  for (let i = start; i < end; i++) if (buf[i] !== 0) return false;
  return true;
}

/**
 * Parses a manifest's bytes. A file cut inside its header, or one whose
 * tail from some record boundary on is all zeros (a size extended before the
 * data reached the disk), holds a torn tail; anything else that fails a
 * check throws CorruptionError with the file and offset.
 */
export function parseManifest(bytes: Uint8Array, file: string, expectedNumber: number): ManifestContents { // PA
  const n = bytes.length;
  const out: ManifestContents = { file, manifestNumber: expectedNumber, records: [], tornTailBytes: 0 };
  if (n < MANIFEST_FILE_HEADER_BYTES || allZero(bytes, 0, n)) {
    out.tornTailBytes = n;
    return out;
  }
  const header = decodeManifestHeader(bytes, file);
  if (header.manifestNumber !== expectedNumber) {
    throw new CorruptionError(`manifest header says number ${header.manifestNumber}, its name says ${expectedNumber}`, { file, offset: 12 });
  }
  let at = MANIFEST_FILE_HEADER_BYTES;
  // Every record consumes at least 13 bytes, so this loop ends within n / 13 rounds.
  while (at < n) {
    if (n - at < MANIFEST_RECORD_HEADER_BYTES) break;
    let h;
    try {
      h = decodeManifestRecordHeader(bytes, at, header.checksumSeed, file);
    } catch (e) {
      if (allZero(bytes, at, n)) break;
      throw e;
    }
    const recEnd = at + MANIFEST_RECORD_HEADER_BYTES + h.payloadBytes;
    if (recEnd > n) break;
    if (!manifestRecordChecksumOk(bytes, at, h, header.checksumSeed)) {
      throw new CorruptionError("manifest record checksum mismatch", { file, offset: at });
    }
    const first = out.records.length === 0;
    if (first !== (h.type === MANIFEST_RECORD_SNAPSHOT)) {
      throw new CorruptionError(first ? "manifest does not start with a snapshot record" : "snapshot record after the first", { file, offset: at });
    }
    out.records.push({ type: h.type, edit: decodeAt(bytes, at, recEnd, file), offset: at });
    at = recEnd;
  }
  out.tornTailBytes = n - at;
  return out;
}

function decodeAt(bytes: Uint8Array, at: number, recEnd: number, file: string): VersionEdit { // PA
  try {
    return decodeVersionEdit(bytes, at + MANIFEST_RECORD_HEADER_BYTES, recEnd);
  } catch (e) {
    if (e instanceof CorruptionError) throw new CorruptionError(e.message, { file, offset: at }, { cause: e });
    throw e;
  }
}

/** Reads and parses MANIFEST-`manifestNumber` in `dir` (NotFoundError if it does not exist). */
export function readManifest(fs: FileSystem, dir: string, manifestNumber: number): ManifestContents { // PA
  const path = joinPath(dir, manifestFileName(manifestNumber));
  return parseManifest(fs.readFile(path), path, manifestNumber);
}
