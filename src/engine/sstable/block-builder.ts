/**
 * Builds one data block: entries with prefix-compressed keys, a full key
 * every `restartInterval` entries (a restart point, where a reader can start
 * decoding), then the restart offsets and their count.
 *
 * Entry: varint shared | varint unshared | u8 kind | varint seq |
 *        varint valueLength (0 for a delete) | key bytes [shared, end) | value
 * Block end: u32 restart offset x count, u32 count (>= 1; the first restart is 0).
 *
 * Cost sketch: an entry is a shared-prefix scan over the key (16 chars for a
 * 16-byte key) and a copy of key suffix and value into one growing buffer;
 * about 30 entries of 100-byte values fill a 4 KiB block, so a block costs
 * ~30 such adds and one copy out.
 */
import { assert } from "../../errors.ts";
import { putU32 } from "../../encoding/fixed.ts";
import { putVarint } from "../../encoding/varint.ts";
import { RESTART_ENTRY_BYTES, SST_KIND_DELETE, SST_KIND_PUT, SST_KIND_VALUE_POINTER } from "./format.ts";

/** Most bytes the fixed fields of one entry take: four varints of <= 8 bytes and the kind byte. */
const ENTRY_HEADER_MAX_BYTES = 8 * 4 + 1;

export class BlockBuilder {
  private buf = new Uint8Array(8192);
  private used = 0;
  private readonly restarts: number[] = [0];
  private sinceRestart = 0;
  private lastKey = "";
  private count = 0;

  constructor(private readonly restartInterval: number) { // A
    assert(Number.isInteger(restartInterval) && restartInterval >= 1, "block restart interval must be an integer >= 1");
  }

  get entryCount(): number { // A
    return this.count;
  }

  /** Size of the block if it were finished now (without the trailer). */
  get estimatedBytes(): number { // A
    return this.used + this.restarts.length * RESTART_ENTRY_BYTES + RESTART_ENTRY_BYTES;
  }

  /** Appends an entry; the table builder has checked the order already. */
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // PA
    if (!(kind === SST_KIND_PUT || kind === SST_KIND_VALUE_POINTER ? value !== undefined : kind === SST_KIND_DELETE && value === undefined)) {
      assert(false, `sstable entry of kind ${kind} with ${value === undefined ? "no" : "a"} value`);
    }
    let shared = 0;
    if (this.sinceRestart === this.restartInterval) {
      this.restarts.push(this.used);
      this.sinceRestart = 0;
    } else if (this.count > 0) {
      const last = this.lastKey;
      const n = Math.min(last.length, key.length);
      while (shared < n && last.charCodeAt(shared) === key.charCodeAt(shared)) shared++;
    }
    const valueBytes = value === undefined ? 0 : value.length;
    this.reserve(ENTRY_HEADER_MAX_BYTES + key.length - shared + valueBytes);
    const b = this.buf;
    let at = putVarint(b, this.used, shared);
    at = putVarint(b, at, key.length - shared);
    b[at++] = kind;
    at = putVarint(b, at, seq);
    at = putVarint(b, at, valueBytes);
    for (let i = shared; i < key.length; i++) b[at++] = key.charCodeAt(i);
    if (value !== undefined) {
      b.set(value, at);
      at += valueBytes;
    }
    this.used = at;
    this.lastKey = key;
    this.sinceRestart++;
    this.count++;
  }

  /** The finished block contents (a fresh array); the builder is empty again afterwards. */
  finish(): Uint8Array { // PA
    assert(this.count > 0, "finishing an empty sstable block");
    const n = this.restarts.length;
    const out = new Uint8Array(this.used + (n + 1) * RESTART_ENTRY_BYTES);
    out.set(this.buf.subarray(0, this.used), 0);
    let at = this.used;
    for (let i = 0; i < n; i++, at += RESTART_ENTRY_BYTES) putU32(out, at, this.restarts[i]!);
    putU32(out, at, n);
    this.reset();
    return out;
  }

  reset(): void { // A
    this.used = 0;
    this.restarts.length = 1;
    this.restarts[0] = 0;
    this.sinceRestart = 0;
    this.lastKey = "";
    this.count = 0;
  }

  private reserve(extra: number): void { // A
    if (this.used + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.used + extra) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.buf.subarray(0, this.used), 0);
    this.buf = grown;
  }
}
