/**
 * Damage for the value-log fuzz target (fuzz/vlog.ts): mutations of a
 * value-log file that keep exact track of where each written record starts
 * afterwards, and mutations of value-pointer bytes.
 *
 * File damage: bit flips, overwritten and zeroed runs, truncation, bytes
 * inserted or deleted (whole records too, so later records slide onto other
 * offsets), header damage (flips, zeros, cuts, resealed headers with a bad
 * field or another file number), records copied from a twin file that holds
 * the same records under another file number, junk or zeros appended.
 */
import { SeededRandom } from "../src/platform/random.ts";
import { equalBytes } from "../src/encoding/bytes.ts";
import { crc32c, maskCrc } from "../src/encoding/crc32c.ts";
import { putU16, putU32 } from "../src/encoding/fixed.ts";
import { VLOG_FILE_HEADER_BYTES, encodeVlogFileHeader } from "../src/engine/vlog/format.ts";
import { encodeValuePointer, type ValuePointer } from "../src/engine/vlog/pointer.ts";

export interface Written {
  key: string;
  seq: number;
  value: Uint8Array;
  pointer: ValuePointer;
}

/**
 * The damaged file, and where each written record starts now, i.e. where its
 * header-check field (record byte 4; bytes 0..3 are the record checksum,
 * which only a verifying scan checks) lies now, minus 4. Undefined: that
 * byte was deleted. Bytes inserted or deleted after it leave the start in
 * place (the record is then no longer intact).
 */
export interface Damaged {
  bytes: Uint8Array;
  at: Array<number | undefined>;
  shifted: boolean;
  what: string[];
}

/** Offset of the header-check field in a record: the first byte a scan without value checks relies on. */
const HEADER_CHECK_AT = 4;

/** A position in [0, len]: uniform, or near a current record boundary. */
function position(rng: SeededRandom, d: Damaged, written: Written[]): number { // A
  const j = rng.int(written.length);
  const at = d.at[j];
  if (rng.int(2) === 0 || at === undefined) return rng.int(d.bytes.length + 1);
  const p = at + (rng.int(2) === 0 ? 0 : written[j]!.pointer.length) + rng.int(3) - 1;
  return Math.max(0, Math.min(d.bytes.length, p));
}

function insertAt(d: Damaged, p: number, ins: Uint8Array): void { // A
  const out = new Uint8Array(d.bytes.length + ins.length);
  out.set(d.bytes.subarray(0, p));
  out.set(ins, p);
  out.set(d.bytes.subarray(p), p + ins.length);
  d.bytes = out;
  d.at = d.at.map((s) => (s === undefined || p > s + HEADER_CHECK_AT ? s : s + ins.length)); // A
  if (p < d.bytes.length - ins.length) d.shifted = true;
}

function deleteAt(d: Damaged, p: number, n: number): void { // A
  n = Math.min(n, d.bytes.length - p);
  const out = new Uint8Array(d.bytes.length - n);
  out.set(d.bytes.subarray(0, p));
  out.set(d.bytes.subarray(p + n), p);
  d.bytes = out;
  d.at = d.at.map((s) => (s === undefined || s + HEADER_CHECK_AT < p ? s : s + HEADER_CHECK_AT >= p + n ? s - n : undefined)); // A
  if (p + n < d.bytes.length + n) d.shifted = true;
}

/** Header damage; `otherNumber` allows a valid header naming another file (only when the scan expects a number). */
function damageHeader(rng: SeededRandom, d: Damaged, fileNumber: number, twin: Uint8Array, otherNumber: boolean): string { // A
  const b = d.bytes;
  const n = Math.min(VLOG_FILE_HEADER_BYTES, b.length);
  if (n === 0) return "header: none left";
  switch (rng.int(otherNumber ? 5 : 4)) {
    case 0:
      for (let i = 0, k = 1 + rng.int(3); i < k; i++) b[rng.int(n)]! ^= 1 << rng.int(8);
      return "header: bit flips";
    case 1:
      b.fill(0, rng.int(n), n);
      return "header: zeroed tail";
    case 2: {
      const cut = rng.int(VLOG_FILE_HEADER_BYTES);
      d.bytes = b.subarray(0, cut);
      return `header: cut at ${cut}`;
    }
    case 3: { // a header with a valid checksum but a bad field
      if (n < VLOG_FILE_HEADER_BYTES) return "header: too short to reseal";
      const field = rng.int(3);
      if (field === 0) putU16(b, 8, 2 + rng.int(100));
      else if (field === 1) putU16(b, 10, 1 + rng.int(0xffff));
      else putU32(b, 16, 0x200000 + rng.int(0x7fe00000));
      putU32(b, 24, maskCrc(crc32c(b, 0, 24)));
      return `header: resealed bad field ${["version", "flags", "number"][field]}`;
    }
    default: { // the twin's header, or ours resealed with another number
      if (n < VLOG_FILE_HEADER_BYTES) return "header: too short to replace";
      if (rng.int(2) === 0) b.set(twin.subarray(0, VLOG_FILE_HEADER_BYTES));
      else b.set(encodeVlogFileHeader(fileNumber + 1 + rng.int(1000), rng.nextU32()));
      return "header: names another file number";
    }
  }
}

/** Copies a record of the twin file (same records, another file number) over or beside ours. */
function copyFromTwin(rng: SeededRandom, d: Damaged, written: Written[], twin: Written[], twinBytes: Uint8Array): string { // A
  const j = rng.int(twin.length);
  const p = twin[j]!.pointer;
  const rec = twinBytes.slice(p.offset, p.offset + p.length);
  const where = rng.int(3);
  if (where === 0 && d.at[j] !== undefined && d.at[j]! + p.length <= d.bytes.length) {
    d.bytes.set(rec, d.at[j]!);
    return `twin record ${j} over ours`;
  }
  const at = where === 1 ? position(rng, d, written) : d.bytes.length;
  insertAt(d, at, rec);
  return `twin record ${j} inserted at ${at}`;
}

/** Applies 1..4 random kinds of damage (or none, one case in 16). */
export function damage(rng: SeededRandom, clean: Uint8Array, written: Written[], twin: { bytes: Uint8Array; written: Written[] }, otherNumber: boolean): Damaged { // A
  const d: Damaged = { bytes: clean.slice(), at: written.map((w) => w.pointer.offset), shifted: false, what: [] };
  for (let i = 0, n = rng.int(16) === 0 ? 0 : 1 + rng.int(4); i < n; i++) {
    const len = d.bytes.length;
    const p = position(rng, d, written);
    switch (rng.int(10)) {
      case 0:
        for (let k = 0, m = 1 + rng.int(4); k < m && len > 0; k++) d.bytes[rng.int(len)]! ^= 1 << rng.int(8);
        d.what.push("bit flips");
        break;
      case 1:
        d.bytes.set(rng.bytes(new Uint8Array(Math.min(len - p, 1 + rng.int(64)))), p);
        d.what.push(`overwrite at ${p}`);
        break;
      case 2: {
        const end = rng.int(4) === 0 ? len : Math.min(len, p + 1 + rng.int(300));
        d.bytes.fill(0, p, end);
        d.what.push(`zeros ${p}..${end}`);
        break;
      }
      case 3:
        d.bytes = d.bytes.slice(0, p);
        d.what.push(`cut at ${p}`);
        break;
      case 4: {
        const k = 1 + rng.int(64);
        insertAt(d, p, rng.int(2) === 0 ? new Uint8Array(k) : rng.bytes(new Uint8Array(k)));
        d.what.push(`insert ${k} at ${p}`);
        break;
      }
      case 5: {
        const j = rng.int(written.length);
        const whole = rng.int(2) === 0 && d.at[j] !== undefined;
        const from = whole ? d.at[j]! : p;
        const k = whole ? written[j]!.pointer.length : 1 + rng.int(200);
        deleteAt(d, from, k);
        d.what.push(`delete ${k} at ${from}${whole ? ` (record ${j})` : ""}`);
        break;
      }
      case 6:
      case 7:
        d.what.push(damageHeader(rng, d, written[0]!.pointer.fileNumber, twin.bytes, otherNumber));
        break;
      case 8:
        d.what.push(copyFromTwin(rng, d, written, twin.written, twin.bytes));
        break;
      default: {
        const k = 1 + rng.int(100);
        insertAt(d, len, rng.int(2) === 0 ? new Uint8Array(k) : rng.bytes(new Uint8Array(k)));
        d.what.push(`append ${k}`);
      }
    }
  }
  return d;
}

/** Whether record j's bytes lie unchanged at their tracked place. */
export function intactAt(d: Damaged, clean: Uint8Array, w: Written, at: number | undefined): boolean { // A
  const { offset, length } = w.pointer;
  return at !== undefined && at + length <= d.bytes.length && equalBytes(d.bytes.subarray(at, at + length), clean.subarray(offset, offset + length));
}

/** Mutates a pointer's bytes (or builds a neighbouring pointer); returns the bytes and the range holding them. */
export function mutatePointer(rng: SeededRandom, p: ValuePointer, others: Written[]): { buf: Uint8Array; start: number; end: number } { // A
  let b = encodeValuePointer(p);
  switch (rng.int(7)) {
    case 0:
      for (let i = 0, n = 1 + rng.int(3); i < n; i++) b[rng.int(b.length)]! ^= 1 << rng.int(8);
      break;
    case 1:
      b = b.slice(0, rng.int(b.length));
      break;
    case 2: {
      const x = new Uint8Array(b.length + 1 + rng.int(4));
      x.set(b);
      b = x.fill(rng.int(256), b.length);
      break;
    }
    case 3: { // an overlong varint: a continuation byte slipped in
      const at = rng.int(b.length);
      b = new Uint8Array([...b.subarray(0, at), 0x80 | rng.int(128), ...b.subarray(at)]);
      break;
    }
    case 4:
      b = rng.bytes(new Uint8Array(rng.int(30)));
      break;
    case 5: { // a nearby offset, or another record's place with this one's length and checksum
      const o = others[rng.int(others.length)]!.pointer.offset;
      b = encodeValuePointer({ ...p, offset: Math.max(VLOG_FILE_HEADER_BYTES, rng.int(2) === 0 ? o : p.offset + rng.int(61) - 30) });
      break;
    }
    default:
      b[rng.int(b.length)] = rng.int(256);
  }
  if (rng.int(4) !== 0) return { buf: b, start: 0, end: b.length };
  const pad = rng.int(5);
  const buf = rng.bytes(new Uint8Array(b.length + pad + rng.int(5)));
  buf.set(b, pad);
  return { buf, start: pad, end: pad + b.length };
}
