/**
 * WriteBatch: an ordered list of puts and deletes applied atomically. The
 * batch is encoded as it is built, directly in the WAL record layout (a
 * record header's worth of room first, then the body), so committing it
 * costs one copy and one checksum, and the memtable's values end up as views
 * into the very buffer that was written to the log.
 *
 * Body: u32 count, then per entry u8 kind, varint key length, key bytes,
 * and for puts varint value length, value bytes (SPEC.md, "Write-ahead log").
 * A put of kind KIND_VALUE_POINTER carries an encoded value-log pointer as
 * its value; only the engine writes those (PUT_VALUE_POINTER, and
 * separateValues at commit).
 */
import { assert, CorruptionError, InvalidArgumentError } from "../errors.ts";
import { latin1Slice, utf8Encode } from "../encoding/bytes.ts";
import { getU32, putU32 } from "../encoding/fixed.ts";
import { getVarint, putVarint, varintLength } from "../encoding/varint.ts";
import { WAL_RECORD_HEADER_BYTES } from "./wal/format.ts";
import { KIND_DELETE, KIND_PUT, KIND_VALUE_POINTER } from "./memtable/memtable.ts";

/** Largest key accepted, in bytes. */
export const MAX_KEY_BYTES = 65_535;
/** Largest value accepted, in bytes. */
export const MAX_VALUE_BYTES = 128 * 1024 * 1024;
/** Largest encoded batch accepted, in bytes. */
export const MAX_BATCH_BYTES = 256 * 1024 * 1024;

const BODY_START = WAL_RECORD_HEADER_BYTES + 4;

/** The engine's way to add a pointer entry to a batch (recovery's rewrite, value-log GC); not exported from the package. */
export const PUT_VALUE_POINTER: unique symbol = Symbol("putValuePointer");

/** Turns a user key or value (bytes or a UTF-8 string) into bytes, or throws InvalidArgumentError. */
export function toBytes(x: unknown, what: "key" | "value"): Uint8Array { // A
  if (x instanceof Uint8Array) return x;
  if (typeof x === "string") return utf8Encode(x);
  const got = x === null ? "null" : typeof x;
  throw new InvalidArgumentError(`${what} must be a Uint8Array or a string, got ${got}`);
}

/** Validates a key's type and size; returns its bytes. */
export function checkKey(key: unknown): Uint8Array { // A
  const k = toBytes(key, "key");
  if (k.length > MAX_KEY_BYTES) {
    throw new InvalidArgumentError(`key of ${k.length} bytes exceeds the maximum of ${MAX_KEY_BYTES} bytes`);
  }
  return k;
}

/** Validates a value's type and size; returns its bytes. */
export function checkValue(value: unknown): Uint8Array { // A
  const v = toBytes(value, "value");
  if (v.length > MAX_VALUE_BYTES) {
    throw new InvalidArgumentError(`value of ${v.length} bytes exceeds the maximum of ${MAX_VALUE_BYTES} bytes`);
  }
  return v;
}

export class WriteBatch {
  private buf: Uint8Array;
  private end = BODY_START;
  private count = 0;
  /**
   * Whether `buf` was handed out by toRecord(): the record owns those bytes
   * now, so the next change copies them first (copy on write) and a second
   * toRecord() copies. Saves one copy of every batch on the write path.
   */
  private handedOut = false;
  /** Longest value put so far: the committer moves values of valueThreshold bytes or more to the value log. */
  private longest = 0;

  /** `initialBytes`: expected encoded size (DB.batch() passes the size of recent batches, so big ones do not grow step by step). */
  constructor(initialBytes = 256) { // A
    this.buf = new Uint8Array(Math.max(initialBytes, BODY_START + 16));
  }

  /** Number of operations in the batch. */
  get length(): number { // A
    return this.count;
  }

  /** Bytes of the longest value in the batch (0 if none). */
  get longestValueBytes(): number { // A
    return this.longest;
  }

  /** Encoded size of the batch's body in bytes. */
  get byteLength(): number { // A
    return this.end - WAL_RECORD_HEADER_BYTES;
  }

  /** Adds a put. Throws InvalidArgumentError (and changes nothing) on a bad key or value. */
  put(key: Uint8Array | string, value: Uint8Array | string): this { // A
    const k = checkKey(key);
    const v = checkValue(value);
    if (v.length > this.longest) this.longest = v.length;
    return this.append(KIND_PUT, k, v);
  }

  /** Adds a put whose value is an encoded value-log pointer (engine use only). */
  [PUT_VALUE_POINTER](key: Uint8Array, pointer: Uint8Array): this { // A
    return this.append(KIND_VALUE_POINTER, checkKey(key), pointer);
  }

  private append(kind: number, k: Uint8Array, v: Uint8Array): this { // A
    this.reserve(1 + 5 + k.length + 5 + v.length);
    const b = this.buf;
    let at = this.end;
    b[at++] = kind;
    at = putVarint(b, at, k.length);
    b.set(k, at);
    at += k.length;
    at = putVarint(b, at, v.length);
    b.set(v, at);
    this.end = at + v.length;
    this.count++;
    return this;
  }

  /** Adds a delete. Throws InvalidArgumentError (and changes nothing) on a bad key. */
  delete(key: Uint8Array | string): this { // A
    const k = checkKey(key);
    this.reserve(1 + 5 + k.length);
    const b = this.buf;
    let at = this.end;
    b[at++] = KIND_DELETE;
    at = putVarint(b, at, k.length);
    b.set(k, at);
    this.end = at + k.length;
    this.count++;
    return this;
  }

  /** Removes every operation; the batch can be reused. */
  clear(): this { // A
    if (this.handedOut) {
      this.buf = new Uint8Array(this.buf.length);
      this.handedOut = false;
    }
    this.end = BODY_START;
    this.count = 0;
    this.longest = 0;
    return this;
  }

  /**
   * The batch as an unsealed WAL record (header room, then body), whose
   * bytes later changes to this batch never touch. Used by DB.write, which
   * seals the header in place: so the first call hands over the batch's own
   * buffer (no copy) and later calls, until the batch changes, return copies.
   */
  toRecord(): Uint8Array { // A
    if (this.handedOut) return this.buf.slice(0, this.end);
    putU32(this.buf, WAL_RECORD_HEADER_BYTES, this.count);
    this.handedOut = true;
    return this.buf.subarray(0, this.end);
  }

  private reserve(more: number): void { // A
    const need = this.end + more;
    if (need - WAL_RECORD_HEADER_BYTES > MAX_BATCH_BYTES) {
      throw new InvalidArgumentError(`write batch would exceed the maximum of ${MAX_BATCH_BYTES} bytes; split it`);
    }
    if (need <= this.buf.length && !this.handedOut) return;
    const grown = new Uint8Array(Math.max(need, this.handedOut ? this.buf.length : this.buf.length * 2));
    grown.set(this.buf.subarray(0, this.end));
    this.buf = grown;
    this.handedOut = false;
  }
}

/**
 * Bump allocator for small records. A fresh `Uint8Array` above 64 bytes gets
 * its own off-heap backing store (a malloc and a finalizer each); carving
 * records out of 256 KiB slabs makes that one per slab. A slab lives as long
 * as any record cut from it, which is as long as the memtable keeps the
 * record's values anyway.
 */
const SLAB_BYTES = 256 * 1024;
const SLAB_RECORD_MAX = 4096;
let slab = new Uint8Array(SLAB_BYTES);
let slabPrev = slab;
let slabUsed = 0;

/**
 * The array that spans the whole buffer under `rec` (its slab, when it was
 * cut from one), so that what keeps a record's bytes alive is one object per
 * slab, not one view per record. Records are committed right after they are
 * cut, so the slab is the current or the previous one; otherwise `rec` itself.
 */
export function recordBase(rec: Uint8Array): Uint8Array { // A
  if (rec.buffer === slab.buffer) return slab;
  if (rec.buffer === slabPrev.buffer) return slabPrev;
  return rec;
}

function allocRecord(n: number): Uint8Array { // A
  if (n > SLAB_RECORD_MAX) return new Uint8Array(n);
  if (slabUsed + n > SLAB_BYTES) {
    slabPrev = slab;
    slab = new Uint8Array(SLAB_BYTES);
    slabUsed = 0;
  }
  const rec = slab.subarray(slabUsed, slabUsed + n);
  slabUsed += n;
  return rec;
}

/** Copies `src` into `dst` at `at`; a plain loop for small arrays, where `set` costs more than the copy. */
function copyInto(dst: Uint8Array, at: number, src: Uint8Array): number { // A
  const n = src.length;
  if (n > 64) dst.set(src, at);
  else for (let i = 0; i < n; i++) dst[at + i] = src[i]!;
  return at + n;
}

/** Encodes a single put or delete as an unsealed WAL record (the fast path of DB.put/delete). */
export function singleOpRecord(kind: number, k: Uint8Array, v: Uint8Array | undefined): Uint8Array { // A
  const vlen = v === undefined ? 0 : v.length;
  const rec = allocRecord(BODY_START + 1 + varintLength(k.length) + k.length + (v === undefined ? 0 : varintLength(vlen) + vlen));
  putU32(rec, WAL_RECORD_HEADER_BYTES, 1);
  let at = BODY_START;
  rec[at++] = kind;
  at = putVarint(rec, at, k.length);
  at = copyInto(rec, at, k);
  if (v !== undefined) {
    at = putVarint(rec, at, vlen);
    at = copyInto(rec, at, v);
  }
  assert(at === rec.length, "single-op record length");
  return rec;
}

/** The number of entries of a record's body. */
export function recordEntryCount(rec: Uint8Array, recordStart: number): number { // A
  return getU32(rec, recordStart + WAL_RECORD_HEADER_BYTES);
}

/**
 * Receives each decoded entry: the key as a latin1 string; a put's value as
 * the range buf[valueOff, valueOff + valueLen) of the record (no view object
 * is made: the memtable keeps the range); for a delete, buf is undefined.
 */
export type BatchVisitor = (key: string, seq: number, kind: number, buf: Uint8Array | undefined, valueOff: number, valueLen: number) => void;

/**
 * Decodes the body `buf[start, end)` (start = first byte after the record
 * header), calling `visit` per entry with sequence numbers firstSeq, firstSeq+1, ...
 * Throws CorruptionError (naming `file`/`fileOffset` of the body) on malformed bytes,
 * before calling `visit` at all, so a bad record is never half applied.
 */
export function decodeBatchBody( // PA
  buf: Uint8Array,
  start: number,
  end: number,
  firstSeq: number,
  visit: BatchVisitor,
  where?: { file?: string; offset?: number },
  trusted = false,
): number {
  // `trusted`: the bytes were encoded by this process a moment ago (the commit path).
  // Either way the structure is sound below, so lengths are read without bounds checks
  // and without allocating (this loop runs once per entry written or replayed).
  const count = trusted ? getU32(buf, start) : validateBatchBody(buf, start, end, where ?? {});
  let at = start + 4;
  for (let i = 0; i < count; i++) {
    const kind = buf[at++]!;
    let keyLen = 0;
    for (let scale = 1, b = 0x80; b >= 0x80; scale *= 128) {
      b = buf[at++]!;
      keyLen += (b & 0x7f) * scale;
    }
    const key = latin1Slice(buf, at, at + keyLen);
    at += keyLen;
    if (kind !== KIND_DELETE) {
      let valueLen = 0;
      for (let scale = 1, b = 0x80; b >= 0x80; scale *= 128) {
        b = buf[at++]!;
        valueLen += (b & 0x7f) * scale;
      }
      visit(key, firstSeq + i, kind, buf, at, valueLen);
      at += valueLen;
    } else {
      visit(key, firstSeq + i, kind, undefined, 0, 0);
    }
  }
  return count;
}

/**
 * Calls `fn` for every KIND_VALUE_POINTER entry of a body that
 * validateBatchBody accepted (so lengths are read without checks); stops at
 * and returns the first reason `fn` gives. No string is made for other entries.
 */
export function firstPointerProblem( // PA
  buf: Uint8Array,
  start: number,
  fn: (key: string, pointer: Uint8Array) => string | undefined,
): string | undefined {
  const count = getU32(buf, start);
  let at = start + 4;
  for (let i = 0; i < count; i++) {
    const kind = buf[at++]!;
    const kl = getVarint(buf, at, buf.length, "key length");
    const keyStart = kl.next;
    at = keyStart + kl.value;
    if (kind === KIND_DELETE) continue;
    const vl = getVarint(buf, at, buf.length, "value length");
    at = vl.next + vl.value;
    if (kind !== KIND_VALUE_POINTER) continue;
    const why = fn(latin1Slice(buf, keyStart, keyStart + kl.value), buf.subarray(vl.next, at));
    if (why !== undefined) return why;
  }
  return undefined;
}

/** Structural check of a batch body; returns the entry count. */
export function validateBatchBody(buf: Uint8Array, start: number, end: number, where: { file?: string; offset?: number }): number { // PA
  const bad = (why: string): CorruptionError => new CorruptionError(`malformed write batch: ${why}`, where); // A
  if (end - start < 4) throw bad("body shorter than its count");
  const count = getU32(buf, start);
  let at = start + 4;
  try {
    for (let i = 0; i < count; i++) {
      if (at >= end) throw bad(`entry ${i} of ${count} missing`);
      const kind = buf[at++]!;
      if (kind !== KIND_PUT && kind !== KIND_DELETE && kind !== KIND_VALUE_POINTER) throw bad(`entry ${i} has unknown kind ${kind}`);
      const kl = getVarint(buf, at, end, "key length");
      if (kl.value > MAX_KEY_BYTES || kl.next + kl.value > end) throw bad(`entry ${i} key length ${kl.value} out of range`);
      at = kl.next + kl.value;
      if (kind !== KIND_DELETE) {
        const vl = getVarint(buf, at, end, "value length");
        if (vl.value > MAX_VALUE_BYTES || vl.next + vl.value > end) throw bad(`entry ${i} value length ${vl.value} out of range`);
        at = vl.next + vl.value;
      }
    }
  } catch (e) {
    if (e instanceof CorruptionError && e.file === undefined && where.file !== undefined) throw bad(e.message);
    throw e;
  }
  if (at !== end) throw bad(`${end - at} trailing bytes after ${count} entries`);
  if (count === 0) throw bad("empty batch");
  return count;
}


/** Writes one value to the value log; returns its encoded pointer. */
export type ValueSink = (key: string, seq: number, value: Uint8Array) => Uint8Array;

/**
 * Moves the values of `threshold` bytes or more out of an unsealed record
 * (encoded by this process: trusted) whose entries get seqs firstSeq,
 * firstSeq + 1, ...: each goes to `store`, and the result is a new unsealed
 * record in which those entries are KIND_VALUE_POINTER with the pointer as
 * their value. Returns `rec` itself when no value qualifies. Cost: one walk
 * over the entries plus one copy of the small parts.
 */
export function separateValues(rec: Uint8Array, threshold: number, firstSeq: number, store: ValueSink): Uint8Array { // PA
  const count = getU32(rec, WAL_RECORD_HEADER_BYTES);
  const pointers: Array<Uint8Array | undefined> = [];
  let size = BODY_START;
  let moved = 0;
  let at = BODY_START;
  for (let i = 0; i < count; i++) {
    const start = at;
    const kind = rec[at++]!;
    const kl = getVarint(rec, at, rec.length, "key length");
    const keyStart = kl.next;
    at = keyStart + kl.value;
    let pointer: Uint8Array | undefined;
    if (kind !== KIND_DELETE) {
      const vl = getVarint(rec, at, rec.length, "value length");
      const valueStart = vl.next;
      at = valueStart + vl.value;
      if (kind === KIND_PUT && vl.value >= threshold) {
        pointer = store(latin1Slice(rec, keyStart, keyStart + kl.value), firstSeq + i, rec.subarray(valueStart, at));
        moved++;
      }
    }
    pointers.push(pointer);
    size += pointer === undefined ? at - start : 1 + varintLength(kl.value) + kl.value + varintLength(pointer.length) + pointer.length;
  }
  assert(at === rec.length, "separateValues walked past the record");
  if (moved === 0) return rec;
  const out = new Uint8Array(size);
  putU32(out, WAL_RECORD_HEADER_BYTES, count);
  let o = BODY_START;
  at = BODY_START;
  for (let i = 0; i < count; i++) {
    const start = at;
    const kind = rec[at++]!;
    const kl = getVarint(rec, at, rec.length, "key length");
    at = kl.next + kl.value;
    if (kind !== KIND_DELETE) {
      const vl = getVarint(rec, at, rec.length, "value length");
      at = vl.next + vl.value;
    }
    const pointer = pointers[i];
    if (pointer === undefined) {
      out.set(rec.subarray(start, at), o);
      o += at - start;
    } else {
      out[o++] = KIND_VALUE_POINTER;
      o = putVarint(out, o, kl.value);
      o = copyInto(out, o, rec.subarray(kl.next, kl.next + kl.value));
      o = putVarint(out, o, pointer.length);
      o = copyInto(out, o, pointer);
    }
  }
  assert(o === size, "separateValues size mismatch");
  return out;
}
