/**
 * Fuzz target: the value-log decoders (file header, record framing, the
 * scan, readValue, the pointer codec) over damaged value-log files.
 *
 * Each case writes a real value-log file (random latin1 keys, sequence
 * numbers, values of 0 bytes to a few KiB, flushed in random groups), and a
 * twin file under another file number holding the same records, then damages
 * the file (fuzz/vlog-damage.ts: bit flips, overwritten or zeroed runs,
 * truncation, bytes inserted or deleted, whole records too, header damage,
 * records copied from the twin, junk appended). Where every original record
 * now starts is tracked exactly, so the checks are:
 * - ValueLogScanner never throws (damage is reported in `end`), stops within
 *   the file, yields records back to back, and every record it yields is a
 *   written one at the offset where that record's bytes now lie (same key,
 *   seq, length and pointer; with `verifyValues: false` only seq and length
 *   are covered: see `unverified`); a valid header followed by intact records
 *   is never cut short; a "torn" end never hides a whole record unless bytes
 *   were inserted or deleted mid-file;
 * - readValue through every original pointer returns the original value or
 *   throws CorruptionError (ValueBeyondEndError included), and never throws
 *   for a record whose bytes are untouched at their place;
 * - decodeValuePointer on mutated pointer bytes returns a pointer whose
 *   encoding is exactly those bytes, or throws CorruptionError; reading
 *   through such a pointer gives a written value only where that exact
 *   record lies, else CorruptionError.
 * Anything else throws an Error naming the seed and the damage.
 */
import { CorruptionError } from "../src/errors.ts";
import { MemFileSystem } from "../src/platform/mem-fs.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { equalBytes } from "../src/encoding/bytes.ts";
import type { FileHandle } from "../src/platform/fs.ts";
import { VLOG_FILE_HEADER_BYTES, VLOG_RECORD_HEADER_BYTES, decodeVlogFileHeader, vlogFileName } from "../src/engine/vlog/format.ts";
import { decodeValuePointer, encodeValuePointer, samePointer, type ValuePointer } from "../src/engine/vlog/pointer.ts";
import { readValue, type ReadExpect } from "../src/engine/vlog/reader.ts";
import { ValueLogScanner, type ScanOptions, type ScannedRecord } from "../src/engine/vlog/scan.ts";
import { ValueLogWriter } from "../src/engine/vlog/writer.ts";
import { damage, intactAt, mutatePointer, type Damaged, type Written } from "./vlog-damage.ts";

export interface VlogFuzzStats {
  cases: number;
  /** How the case's verifying scan ended. */
  clean: number;
  torn: number;
  corrupt: number;
  /** Records the scans yielded (all checked against what was written). */
  recordsYielded: number;
  /** readValue calls through original or mutated pointers: the value, or a CorruptionError. */
  readsOk: number;
  readsCorrupt: number;
  /** Mutated pointer bytes that decoded (to their own canonical encoding) or were refused. */
  pointersDecoded: number;
  pointersRefused: number;
  /**
   * Records a `verifyValues: false` scan yielded with a damaged key or stored
   * checksum (only the record checksum, skipped there, covers those bytes).
   */
  unverified: number;
}

type CaseStats = Omit<VlogFuzzStats, "cases">;

function zeroStats(): CaseStats { // A
  return { clean: 0, torn: 0, corrupt: 0, recordsYielded: 0, readsOk: 0, readsCorrupt: 0, pointersDecoded: 0, pointersRefused: 0, unverified: 0 };
}

const MAX_READ_BYTES = 1 << 20;

function randomKey(rng: SeededRandom): string { // A
  let key = "";
  for (let n = rng.int(8) === 0 ? rng.int(300) : rng.int(24); n > 0; n--) key += String.fromCharCode(rng.int(256));
  return key;
}

/** 1..10 random records; now and then one repeats the previous record exactly. */
function randomRecords(rng: SeededRandom): Array<{ key: string; seq: number; value: Uint8Array }> { // A
  const out: Array<{ key: string; seq: number; value: Uint8Array }> = [];
  for (let i = 0, n = 1 + rng.int(10); i < n; i++) {
    if (i > 0 && rng.int(10) === 0) {
      out.push(out[i - 1]!);
      continue;
    }
    const seq = [0, Number.MAX_SAFE_INTEGER, rng.nextU32(), rng.nextU32() * 2048 + rng.int(2048)][rng.int(4)]!;
    const size = [0, rng.int(64), rng.int(4096), rng.int(600)][rng.int(4)]!;
    out.push({ key: randomKey(rng), seq, value: rng.bytes(new Uint8Array(size)) });
  }
  return out;
}

/** Writes `records` into a new value-log file `fileNumber`, flushing in random groups. */
function writeFile(rng: SeededRandom, fileNumber: number, records: ReturnType<typeof randomRecords>): { bytes: Uint8Array; written: Written[] } { // A
  const fs = new MemFileSystem();
  fs.mkdir("/db");
  const path = `/db/${vlogFileName(fileNumber)}`;
  const w = ValueLogWriter.create(fs, path, fileNumber, rng.nextU32());
  const written = records.map((r) => { // A
    const pointer = w.append(r.key, r.seq, r.value);
    if (rng.int(3) === 0) w.flush();
    return { ...r, pointer };
  });
  w.flush();
  w.close();
  return { bytes: fs.readFile(path), written };
}

/** Reads through `p`; the value must be `want` (undefined: only a CorruptionError is right). */
function checkRead( // A
  h: FileHandle, p: ValuePointer, expect: ReadExpect | string | undefined, want: Uint8Array | undefined, mustRead: boolean, st: CaseStats,
): void {
  let v: Uint8Array;
  try {
    v = readValue(h, p, expect);
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw new Error(`readValue(${JSON.stringify(p)}) threw a non-CorruptionError`, { cause: e });
    if (mustRead) throw new Error(`readValue(${JSON.stringify(p)}) refused an untouched record: ${e.message}`);
    st.readsCorrupt++;
    return;
  }
  if (want === undefined || !equalBytes(v, want)) throw new Error(`readValue(${JSON.stringify(p)}) returned a value that was not written there`);
  st.readsOk++;
}

interface ScanCtx {
  h: FileHandle;
  path: string;
  clean: Uint8Array;
  d: Damaged;
  written: Written[];
  intact: boolean[];
  headerOk: boolean;
  st: CaseStats;
}

/** The record a scan yielded must be the written one whose bytes now start at its offset. */
function checkYielded(c: ScanCtx, r: ScannedRecord, verify: boolean): void { // A
  const j = c.d.at.findIndex((s) => s === r.offset);
  const w = c.written[j];
  if (w === undefined) throw new Error(`scan yielded a record at ${r.offset}, where no written record lies`);
  if (r.seq !== w.seq || r.length !== w.pointer.length || r.valueBytes !== r.length - VLOG_RECORD_HEADER_BYTES - r.key.length) {
    throw new Error(`scan yielded at ${r.offset} a record whose seq or length differs from record ${j}`);
  }
  if (r.pointer.offset !== r.offset || r.pointer.length !== r.length || r.pointer.fileNumber !== w.pointer.fileNumber) {
    throw new Error(`scan yielded at ${r.offset} a pointer that does not name the record`);
  }
  const same = r.key === w.key && samePointer(r.pointer, { ...w.pointer, offset: r.offset });
  if (!same && (verify || c.intact[j])) throw new Error(`scan yielded at ${r.offset} a key or checksum record ${j} does not have`);
  if (verify && !c.intact[j]) throw new Error(`verifying scan yielded record ${j} at ${r.offset} although its bytes changed`);
  if (!same) c.st.unverified++;
  checkRead(c.h, r.pointer, { key: r.key, seq: r.seq }, same ? w.value : undefined, verify, c.st);
  c.st.recordsYielded++;
}

/** One scan with `options`; checks bounds, framing, every record, and the end. Returns the end status. */
function checkScan(c: ScanCtx, expected: number | undefined, options: ScanOptions, verify: boolean): string { // A
  const s = new ValueLogScanner(c.h, c.path, expected, { ...options, verifyValues: verify });
  const size = c.d.bytes.length;
  const start = options.startOffset ?? VLOG_FILE_HEADER_BYTES;
  let next = start;
  let count = 0;
  for (let r = s.next(); r !== undefined; r = s.next()) {
    if (++count > size / VLOG_RECORD_HEADER_BYTES + 1) throw new Error("scan yielded more records than the file can hold");
    if (!c.headerOk) throw new Error("scan yielded a record from a file whose header is not valid");
    if (r.offset !== next || r.offset + r.length > size || s.offset !== r.offset + r.length) {
      throw new Error(`scan record at ${r.offset} out of place (expected ${next})`);
    }
    checkYielded(c, r, verify);
    next = r.offset + r.length;
  }
  const end = s.end;
  if (end === undefined) throw new Error("scan ended without `end`");
  if (end.fileSizeBytes !== size || end.records !== count || end.validEndBytes > size || s.offset > Math.max(size, start)) {
    throw new Error(`scan end out of bounds: ${JSON.stringify(end)}`);
  }
  if (count > 0 && end.validEndBytes !== next) throw new Error(`validEndBytes ${end.validEndBytes} is not the last record's end ${next}`);
  if (end.status === "clean" && (end.validEndBytes !== size || !c.headerOk)) throw new Error(`"clean" end at ${end.validEndBytes} of ${size}`);
  if (end.status === "corrupt" && !(end.error instanceof CorruptionError && end.error.file === c.path)) {
    throw new Error("corrupt end without a CorruptionError naming the file");
  }
  if (end.status !== "clean" && end.status !== "torn" && end.status !== "corrupt") throw new Error(`unknown end status ${String(end.status)}`);
  if (end.nextValidOffset !== undefined) {
    const j = c.d.at.findIndex((a) => a === end.nextValidOffset);
    if (end.nextValidOffset <= end.validEndBytes || j < 0 || !c.intact[j]) throw new Error(`nextValidOffset ${end.nextValidOffset} is not an intact record`);
  }
  // The intact records from the start, at their written offsets, are never cut short.
  let expectEnd = start;
  for (let k = c.written.findIndex((w) => w.pointer.offset === start); c.headerOk && k >= 0 && k < c.written.length; k++) {
    const w = c.written[k]!;
    if (c.d.at[k] !== w.pointer.offset || !c.intact[k]) break;
    expectEnd = w.pointer.offset + w.pointer.length;
  }
  if (next < expectEnd) throw new Error(`scan stopped at ${next} before intact records up to ${expectEnd}`);
  if (end.status === "torn" && !c.d.shifted) {
    const hidden = c.written.findIndex((w, j) => c.intact[j] && c.d.at[j]! >= end.validEndBytes && c.d.at[j]! >= VLOG_FILE_HEADER_BYTES);
    if (hidden >= 0 && c.headerOk) throw new Error(`"torn" at ${end.validEndBytes} but record ${hidden} lies whole at ${c.d.at[hidden]}`);
  }
  return end.status;
}

/** Decode mutated pointer bytes: a pointer that re-encodes to them, or CorruptionError; then read through it. */
function checkPointer(c: ScanCtx, rng: SeededRandom, w: Written): void { // A
  const { buf, start, end } = mutatePointer(rng, w.pointer, c.written);
  let q: ValuePointer;
  try {
    q = decodeValuePointer(buf, start, end);
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw new Error("decodeValuePointer threw a non-CorruptionError", { cause: e });
    c.st.pointersRefused++;
    return;
  }
  c.st.pointersDecoded++;
  if (!equalBytes(encodeValuePointer(q), buf.subarray(start, end))) throw new Error(`decoded pointer ${JSON.stringify(q)} does not re-encode to its bytes`);
  if (q.length > MAX_READ_BYTES) return; // a legal length up to 128 MiB: one allocation that size per read; not worth it here
  const j = c.written.findIndex((x, i) => c.intact[i] && samePointer(q, { ...x.pointer, offset: c.d.at[i]! }));
  checkRead(c.h, q, undefined, j < 0 ? undefined : c.written[j]!.value, false, c.st);
}

/** One case; returns its counts, throws on any outcome the API does not allow. */
export async function fuzzVlogCase(seed: number): Promise<CaseStats> { // A
  const st = zeroStats();
  const rng = new SeededRandom(seed);
  const fileNumber = rng.int(4) === 0 ? 1 + rng.int(2 ** 40) : 1 + rng.int(2000);
  const records = randomRecords(rng);
  const { bytes: clean, written } = writeFile(rng, fileNumber, records);
  const twin = writeFile(rng, fileNumber + 1 + rng.int(5), records);
  const expected = rng.int(4) === 0 ? undefined : fileNumber;
  const d = damage(rng, clean, written, twin, expected !== undefined);
  try {
    const fs = new MemFileSystem();
    fs.mkdir("/db");
    const path = `/db/${vlogFileName(fileNumber)}`;
    const h = fs.open(path, { create: true });
    h.write(d.bytes, 0);
    let headerOk = true;
    try {
      decodeVlogFileHeader(d.bytes.subarray(0, VLOG_FILE_HEADER_BYTES), path, fileNumber);
    } catch {
      headerOk = false;
    }
    const intact = written.map((w, j) => intactAt(d, clean, w, d.at[j])); // A
    const c: ScanCtx = { h, path, clean, d, written, intact, headerOk, st };
    const options: ScanOptions = { chunkBytes: [64, 100, 1000, 4096, 1 << 20][rng.int(5)]!, resyncMaxBytes: [0, 300, 4 << 20][rng.int(3)]! };
    if (rng.int(6) === 0) options.startOffset = written[rng.int(written.length)]!.pointer.offset;
    const verify = rng.int(4) !== 0;
    st[checkScan(c, expected, options, verify) as "clean" | "torn" | "corrupt"]++;
    checkScan(c, expected, options, !verify);
    written.forEach((w, j) => { // A
      const untouched = intact[j]! && d.at[j] === w.pointer.offset;
      const expect = [undefined, w.key, { key: w.key, seq: w.seq }][rng.int(3)];
      checkRead(h, w.pointer, expect, w.value, untouched, st);
    });
    for (let i = 0; i < 4; i++) checkPointer(c, rng, written[rng.int(written.length)]!);
    h.close();
    return st;
  } catch (e) {
    const why = e instanceof Error ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.stack}` : ""}\n${e.stack}` : String(e);
    throw new Error(`vlog fuzz seed ${seed} (file ${fileNumber}, ${written.length} records, damage: ${d.what.join("; ") || "none"}): ${why}`);
  }
}

/** Runs cases from `seed0` until `cases` are done or `budgetMs` has passed (`nowMs` supplies time). */
export async function fuzzVlog(seed0: number, cases: number, budgetMs: number, nowMs: () => number): Promise<VlogFuzzStats> { // A
  const start = nowMs();
  const stats: VlogFuzzStats = { cases: 0, ...zeroStats() };
  for (let i = 0; i < cases && nowMs() - start < budgetMs; i++) {
    let one: CaseStats;
    try {
      one = await fuzzVlogCase(seed0 + i);
    } catch (e) {
      throw new Error(`case ${i} from seed ${seed0}: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const k of Object.keys(one) as Array<keyof CaseStats>) stats[k] += one[k];
    stats.cases++;
  }
  return stats;
}
