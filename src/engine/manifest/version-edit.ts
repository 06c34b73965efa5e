/**
 * A version edit: one change to the set of live table files (files added and
 * removed per level) plus the counters recovery needs (next file number, last
 * sequence number, the WAL number replay starts from), per-level compaction
 * pointers, and the value log's discard statistics (record bytes of each
 * value-log file that became garbage when a flush or compaction dropped the
 * versions pointing at them; files whose statistics are forgotten). The
 * manifest is a log of these (SPEC.md, "Manifest" and "Discard statistics").
 *
 * Encoding: a sequence of tagged fields `varint tag, varint body length,
 * body`, tags ascending; repeated fields (added, deleted, compaction
 * pointers, value-log discards and forgets) sorted by (level, file number) /
 * level / value-log file number. The encoding is
 * canonical: one edit has exactly one byte form, and the decoder rejects any
 * other (out of order, duplicated, trailing bytes). Tags below 64 must be
 * understood; a reader meeting an unknown one refuses (a newer writer said
 * something that changes the file set). Tags 64 and up are hints a reader
 * may skip, so fields can be added later without a format bump.
 *
 * Cost sketch: an added file is ~20 bytes plus its two keys; a snapshot of
 * 100k files with 16-byte keys is ~5 MB, encoded or decoded in tens of ms.
 * A value-log discard entry is ~6 bytes; an edit carries one per value-log
 * file its dropped versions pointed into, a snapshot one per file with garbage.
 */
import { assert, CorruptionError, InvalidArgumentError } from "../../errors.ts";
import { getVarint, putVarint, varintLength } from "../../encoding/varint.ts";
import { latin1Slice, putLatin1 } from "../../encoding/bytes.ts";

/** Levels 0 .. MAX_LEVELS-1. Raising it later is compatible (levels are varints). */
export const MAX_LEVELS = 7;
/** Largest smallest/largest key or compaction pointer a manifest holds (SPEC.md limit on keys). */
export const MANIFEST_KEY_MAX_BYTES = 65_535;

export const TAG_LOG_NUMBER = 1;
export const TAG_NEXT_FILE_NUMBER = 2;
export const TAG_LAST_SEQ = 3;
export const TAG_COMPACT_POINTER = 4;
export const TAG_DELETED_FILE = 5;
export const TAG_ADDED_FILE = 6;
/** Value-log discard: varint value-log file number, varint bytes (>= 1). A delta in an edit, the total in a snapshot. */
export const TAG_VLOG_DISCARD = 7;
/** Value-log file forgotten: varint file number. Its discard total is dropped (GC deleted the file). Never in a snapshot. */
export const TAG_VLOG_FORGET = 8;
/** Tags at or above this may be skipped by a reader that does not know them. */
export const TAG_FIRST_SKIPPABLE = 64;

/** One live table file. Keys are latin1 strings (one char per byte). */
export interface FileMeta {
  readonly fileNumber: number;
  readonly sizeBytes: number;
  readonly smallestKey: string;
  readonly largestKey: string;
  readonly minSeq: number;
  readonly maxSeq: number;
}

export interface AddedFile extends FileMeta {
  readonly level: number;
}

export interface DeletedFile {
  readonly level: number;
  readonly fileNumber: number;
}

/** Record bytes of one value-log file that are garbage (a delta in an edit, a total in a snapshot). */
export interface VlogDiscard {
  readonly fileNumber: number;
  readonly bytes: number;
}

/** Where the next compaction of `level` starts (round robin over the key space). */
export interface CompactPointer {
  readonly level: number;
  readonly key: string;
}

export interface VersionEdit {
  readonly added?: readonly AddedFile[];
  readonly deleted?: readonly DeletedFile[];
  readonly compactPointers?: readonly CompactPointer[];
  /** WAL number recovery replays from; logs with smaller numbers are obsolete. */
  readonly logNumber?: number;
  readonly nextFileNumber?: number;
  readonly lastSeq?: number;
  /** Tag 7: per value-log file, record bytes that became garbage in this edit (in a snapshot: the totals). */
  readonly vlogDiscard?: readonly VlogDiscard[];
  /** Tag 8: value-log files whose discard totals are dropped (the files were deleted). */
  readonly vlogForget?: readonly number[];
}

type Fail = (message: string) => never;

function byLevelThenNumber(a: DeletedFile, b: DeletedFile): number { // A
  return a.level - b.level || a.fileNumber - b.fileNumber;
}

/** The edit with its arrays sorted the canonical way and empty parts dropped (what decode returns). */
export function canonicalEdit(edit: VersionEdit): VersionEdit { // A
  const out: {
    added?: AddedFile[]; deleted?: DeletedFile[]; compactPointers?: CompactPointer[];
    logNumber?: number; nextFileNumber?: number; lastSeq?: number; vlogDiscard?: VlogDiscard[]; vlogForget?: number[];
  } = {};
  if (edit.added !== undefined && edit.added.length > 0) out.added = [...edit.added].sort(byLevelThenNumber);
  if (edit.deleted !== undefined && edit.deleted.length > 0) out.deleted = [...edit.deleted].sort(byLevelThenNumber);
  if (edit.compactPointers !== undefined && edit.compactPointers.length > 0) {
    out.compactPointers = [...edit.compactPointers].sort((a, b) => a.level - b.level);
  }
  if (edit.logNumber !== undefined) out.logNumber = edit.logNumber;
  if (edit.nextFileNumber !== undefined) out.nextFileNumber = edit.nextFileNumber;
  if (edit.lastSeq !== undefined) out.lastSeq = edit.lastSeq;
  if (edit.vlogDiscard !== undefined && edit.vlogDiscard.length > 0) out.vlogDiscard = [...edit.vlogDiscard].sort((a, b) => a.fileNumber - b.fileNumber);
  if (edit.vlogForget !== undefined && edit.vlogForget.length > 0) out.vlogForget = [...edit.vlogForget].sort((a, b) => a - b);
  return out;
}

function checkNumber(v: number, what: string, fail: Fail): void { // A
  if (!Number.isSafeInteger(v) || v < 0) fail(`${what} must be a non-negative safe integer, got ${String(v)}`);
}

function checkLevel(level: number, fail: Fail): void { // A
  if (!Number.isSafeInteger(level) || level < 0 || level >= MAX_LEVELS) fail(`level must be 0..${MAX_LEVELS - 1}, got ${String(level)}`);
}

function checkKey(key: string, what: string, fail: Fail): void { // A
  if (typeof key !== "string" || key.length > MANIFEST_KEY_MAX_BYTES) fail(`${what} must be a latin1 string of at most ${MANIFEST_KEY_MAX_BYTES} bytes`);
  for (let i = 0; i < key.length; i++) if (key.charCodeAt(i) > 0xff) fail(`${what} is not latin1 (char ${i} > 0xff)`);
}

function checkAdded(f: AddedFile, fail: Fail): void { // A
  checkLevel(f.level, fail);
  checkNumber(f.fileNumber, "fileNumber", fail);
  checkNumber(f.sizeBytes, "sizeBytes", fail);
  checkNumber(f.minSeq, "minSeq", fail);
  checkNumber(f.maxSeq, "maxSeq", fail);
  checkKey(f.smallestKey, "smallestKey", fail);
  checkKey(f.largestKey, "largestKey", fail);
  if (f.minSeq > f.maxSeq) fail(`file ${f.fileNumber}: minSeq ${f.minSeq} > maxSeq ${f.maxSeq}`);
  if (f.largestKey < f.smallestKey) fail(`file ${f.fileNumber}: largestKey sorts before smallestKey`);
}

/**
 * Checks every field of an edit (ranges, key sizes, no duplicate entry).
 * `fail` decides the error: InvalidArgumentError for a caller's edit,
 * CorruptionError for one read from disk. Returns the canonical form.
 */
export function checkEdit(edit: VersionEdit, fail: Fail): VersionEdit { // PA
  const e = canonicalEdit(edit);
  for (const f of e.added ?? []) checkAdded(f, fail);
  for (const d of e.deleted ?? []) {
    checkLevel(d.level, fail);
    checkNumber(d.fileNumber, "deleted fileNumber", fail);
  }
  for (const c of e.compactPointers ?? []) {
    checkLevel(c.level, fail);
    checkKey(c.key, "compaction pointer", fail);
  }
  for (const list of [e.added ?? [], e.deleted ?? []]) {
    for (let i = 1; i < list.length; i++) {
      if (byLevelThenNumber(list[i - 1]!, list[i]!) === 0) fail(`file ${list[i]!.fileNumber} appears twice at level ${list[i]!.level} in one edit`);
    }
  }
  const cps = e.compactPointers ?? [];
  for (let i = 1; i < cps.length; i++) if (cps[i - 1]!.level === cps[i]!.level) fail(`two compaction pointers for level ${cps[i]!.level}`);
  if (e.logNumber !== undefined) checkNumber(e.logNumber, "logNumber", fail);
  if (e.nextFileNumber !== undefined) checkNumber(e.nextFileNumber, "nextFileNumber", fail);
  if (e.lastSeq !== undefined) checkNumber(e.lastSeq, "lastSeq", fail);
  checkVlog(e, fail);
  return e;
}

/** Value-log discards and forgets: file numbers >= 1, bytes >= 1, each file at most once per list, never in both. */
function checkVlog(e: VersionEdit, fail: Fail): void { // PA
  const discard = e.vlogDiscard ?? [];
  const forget = e.vlogForget ?? [];
  for (const d of discard) {
    checkNumber(d.fileNumber, "value-log discard fileNumber", fail);
    checkNumber(d.bytes, "value-log discard bytes", fail);
    if (d.fileNumber < 1) fail("value-log discard fileNumber must be >= 1");
    if (d.bytes < 1) fail(`value-log discard for file ${d.fileNumber} must count at least 1 byte`);
  }
  for (const n of forget) {
    checkNumber(n, "forgotten value-log fileNumber", fail);
    if (n < 1) fail("forgotten value-log fileNumber must be >= 1");
  }
  for (let i = 1; i < discard.length; i++) if (discard[i - 1]!.fileNumber === discard[i]!.fileNumber) fail(`value-log file ${discard[i]!.fileNumber} has two discard entries in one edit`);
  for (let i = 1; i < forget.length; i++) if (forget[i - 1] === forget[i]) fail(`value-log file ${forget[i]!} is forgotten twice in one edit`);
  if (forget.length > 0) {
    const gone = new Set(forget);
    for (const d of discard) if (gone.has(d.fileNumber)) fail(`value-log file ${d.fileNumber} is both forgotten and discarded in one edit`);
  }
}

/** Throws InvalidArgumentError: the fail handler for an edit a caller built. */
export function failInvalid(message: string): never { // A
  throw new InvalidArgumentError(`invalid version edit: ${message}`);
}

/** A growable output buffer for the encoder. */
class Out {
  buf = new Uint8Array(256);
  at = 0;
  reserve(n: number): void { // A
    if (this.at + n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(this.at + n, this.buf.length * 2));
    next.set(this.buf.subarray(0, this.at));
    this.buf = next;
  }
  varint(v: number): void { // A
    this.reserve(8);
    this.at = putVarint(this.buf, this.at, v);
  }
  field(tag: number, bodyBytes: number): void { // A
    this.varint(tag);
    this.varint(bodyBytes);
    this.reserve(bodyBytes);
  }
  key(s: string): void { // A
    this.varint(s.length);
    this.reserve(s.length);
    this.at = putLatin1(this.buf, this.at, s);
  }
}

function addedBodyBytes(f: AddedFile): number { // A
  return varintLength(f.level) + varintLength(f.fileNumber) + varintLength(f.sizeBytes) + varintLength(f.minSeq) +
    varintLength(f.maxSeq) + varintLength(f.smallestKey.length) + f.smallestKey.length + varintLength(f.largestKey.length) + f.largestKey.length;
}

/** Encodes an edit canonically. The edit must pass checkEdit (asserted by throwing InvalidArgumentError). */
export function encodeVersionEdit(edit: VersionEdit): Uint8Array { // PA
  const e = checkEdit(edit, failInvalid);
  const out = new Out();
  const scalar = (tag: number, v: number | undefined): void => { // A
    if (v === undefined) return;
    out.field(tag, varintLength(v));
    out.varint(v);
  };
  scalar(TAG_LOG_NUMBER, e.logNumber);
  scalar(TAG_NEXT_FILE_NUMBER, e.nextFileNumber);
  scalar(TAG_LAST_SEQ, e.lastSeq);
  for (const c of e.compactPointers ?? []) {
    out.field(TAG_COMPACT_POINTER, varintLength(c.level) + c.key.length);
    out.varint(c.level);
    out.at = putLatin1(out.buf, out.at, c.key);
  }
  for (const d of e.deleted ?? []) {
    out.field(TAG_DELETED_FILE, varintLength(d.level) + varintLength(d.fileNumber));
    out.varint(d.level);
    out.varint(d.fileNumber);
  }
  for (const f of e.added ?? []) {
    out.field(TAG_ADDED_FILE, addedBodyBytes(f));
    const bodyStart = out.at;
    out.varint(f.level);
    out.varint(f.fileNumber);
    out.varint(f.sizeBytes);
    out.varint(f.minSeq);
    out.varint(f.maxSeq);
    out.key(f.smallestKey);
    out.key(f.largestKey);
    assert(out.at - bodyStart === addedBodyBytes(f), "added-file body is as long as its declared length");
  }
  for (const d of e.vlogDiscard ?? []) {
    out.field(TAG_VLOG_DISCARD, varintLength(d.fileNumber) + varintLength(d.bytes));
    out.varint(d.fileNumber);
    out.varint(d.bytes);
  }
  for (const n of e.vlogForget ?? []) scalar(TAG_VLOG_FORGET, n);
  return out.buf.slice(0, out.at);
}

/**
 * getVarint, refusing overlong forms (a multi-byte varint whose last byte is
 * 0 encodes a value that has a shorter form): without this, two byte strings
 * would decode to one edit and encode(decode(b)) = b would not hold.
 */
function canonicalVarint(buf: Uint8Array, at: number, end: number, what: string): { value: number; next: number } { // PA
  const d = getVarint(buf, at, end, what);
  if (d.next - at > 1 && buf[d.next - 1] === 0) throw new CorruptionError(`${what} is not canonically encoded (overlong varint)`);
  return d;
}

/** A cursor over one field body; every read is bounded by the body's end. */
class In {
  constructor(readonly buf: Uint8Array, public at: number, readonly end: number) {} // A
  varint(what: string): number { // PA
    const d = canonicalVarint(this.buf, this.at, this.end, what);
    this.at = d.next;
    return d.value;
  }
  key(what: string): string { // PA
    const n = this.varint(`${what} length`);
    if (n > MANIFEST_KEY_MAX_BYTES || n > this.end - this.at) throw new CorruptionError(`${what} length ${n} runs past its field`);
    const s = latin1Slice(this.buf, this.at, this.at + n);
    this.at += n;
    return s;
  }
  done(what: string): void { // PA
    if (this.at !== this.end) throw new CorruptionError(`${what} field has ${this.end - this.at} trailing bytes`);
  }
}

function failCorrupt(message: string): never { // A
  throw new CorruptionError(`invalid version edit: ${message}`);
}

interface Acc {
  added: AddedFile[]; deleted: DeletedFile[]; compactPointers: CompactPointer[]; vlogDiscard: VlogDiscard[]; vlogForget: number[];
  logNumber?: number; nextFileNumber?: number; lastSeq?: number;
}

/** Decodes one field body into `acc`. Unknown tags: refused below 64, skipped from 64 up. */
function decodeField(tag: number, r: In, acc: Acc): void { // PA
  switch (tag) {
    case TAG_LOG_NUMBER: acc.logNumber = r.varint("logNumber"); break;
    case TAG_NEXT_FILE_NUMBER: acc.nextFileNumber = r.varint("nextFileNumber"); break;
    case TAG_LAST_SEQ: acc.lastSeq = r.varint("lastSeq"); break;
    case TAG_COMPACT_POINTER: {
      const level = r.varint("compaction pointer level");
      const key = latin1Slice(r.buf, r.at, r.end);
      r.at = r.end;
      acc.compactPointers.push({ level, key });
      break;
    }
    case TAG_DELETED_FILE: acc.deleted.push({ level: r.varint("level"), fileNumber: r.varint("fileNumber") }); break;
    case TAG_ADDED_FILE: {
      const level = r.varint("level");
      const fileNumber = r.varint("fileNumber");
      const sizeBytes = r.varint("sizeBytes");
      const minSeq = r.varint("minSeq");
      const maxSeq = r.varint("maxSeq");
      const smallestKey = r.key("smallestKey");
      const largestKey = r.key("largestKey");
      acc.added.push({ level, fileNumber, sizeBytes, smallestKey, largestKey, minSeq, maxSeq });
      break;
    }
    case TAG_VLOG_DISCARD: acc.vlogDiscard.push({ fileNumber: r.varint("value-log discard fileNumber"), bytes: r.varint("value-log discard bytes") }); break;
    case TAG_VLOG_FORGET: acc.vlogForget.push(r.varint("forgotten value-log fileNumber")); break;
    default:
      if (tag < TAG_FIRST_SKIPPABLE) throw new CorruptionError(`unknown required version-edit field ${tag} (written by a newer OuroborosDB?)`);
      r.at = r.end;
  }
  r.done(`version-edit tag ${tag}`);
}

/** True when `next` may follow `prev` in canonical order (repeatable tags may repeat). */
function tagOrderOk(prev: number, next: number): boolean { // A
  if (next > prev) return true;
  return next === prev && (next === TAG_COMPACT_POINTER || next === TAG_DELETED_FILE || next === TAG_ADDED_FILE ||
    next === TAG_VLOG_DISCARD || next === TAG_VLOG_FORGET);
}

/**
 * Decodes an edit from `buf[start, end)`. Throws CorruptionError (without a
 * place: the caller adds file and offset) for anything malformed or not in
 * canonical form.
 */
export function decodeVersionEdit(buf: Uint8Array, start = 0, end = buf.length): VersionEdit { // PA
  const acc: Acc = { added: [], deleted: [], compactPointers: [], vlogDiscard: [], vlogForget: [] };
  let at = start;
  let prevTag = 0;
  // Each field takes at least 2 bytes, so the loop ends within (end - start) / 2 rounds.
  while (at < end) {
    const tag = canonicalVarint(buf, at, end, "version-edit tag");
    const len = canonicalVarint(buf, tag.next, end, "version-edit field length");
    if (len.value > end - len.next) throw new CorruptionError(`version-edit field ${tag.value} length ${len.value} runs past the record`);
    if (tag.value === 0 || !tagOrderOk(prevTag, tag.value)) throw new CorruptionError(`version-edit field ${tag.value} out of canonical order`);
    prevTag = tag.value;
    decodeField(tag.value, new In(buf, len.next, len.next + len.value), acc);
    at = len.next + len.value;
  }
  const edit: VersionEdit = {
    ...(acc.added.length > 0 ? { added: acc.added } : {}),
    ...(acc.deleted.length > 0 ? { deleted: acc.deleted } : {}),
    ...(acc.compactPointers.length > 0 ? { compactPointers: acc.compactPointers } : {}),
    ...(acc.logNumber !== undefined ? { logNumber: acc.logNumber } : {}),
    ...(acc.nextFileNumber !== undefined ? { nextFileNumber: acc.nextFileNumber } : {}),
    ...(acc.lastSeq !== undefined ? { lastSeq: acc.lastSeq } : {}),
    ...(acc.vlogDiscard.length > 0 ? { vlogDiscard: acc.vlogDiscard } : {}),
    ...(acc.vlogForget.length > 0 ? { vlogForget: acc.vlogForget } : {}),
  };
  checkEdit(edit, failCorrupt);
  checkSortedStrict(acc);
  return edit;
}

/** Canonical form: repeated fields strictly ascending (checkEdit already refused duplicates after sorting). */
function checkSortedStrict(acc: Acc): void { // PA
  for (const list of [acc.added, acc.deleted]) {
    for (let i = 1; i < list.length; i++) {
      if (byLevelThenNumber(list[i - 1]!, list[i]!) >= 0) throw new CorruptionError("version-edit files not in canonical (level, fileNumber) order");
    }
  }
  const cps = acc.compactPointers;
  for (let i = 1; i < cps.length; i++) {
    if (cps[i - 1]!.level >= cps[i]!.level) throw new CorruptionError("version-edit compaction pointers not in level order");
  }
  for (let i = 1; i < acc.vlogDiscard.length; i++) {
    if (acc.vlogDiscard[i - 1]!.fileNumber >= acc.vlogDiscard[i]!.fileNumber) throw new CorruptionError("version-edit value-log discards not in file-number order");
  }
  for (let i = 1; i < acc.vlogForget.length; i++) {
    if (acc.vlogForget[i - 1]! >= acc.vlogForget[i]!) throw new CorruptionError("version-edit forgotten value-log files not in file-number order");
  }
}
