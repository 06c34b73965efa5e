/**
 * Opening a database: replay the WAL files the manifest still needs (number
 * >= its log number; older ones are flushed to tables already), oldest
 * first, into a fresh memtable, then continue the newest log (cut back to
 * its last valid record) or start a new one. See SPEC.md, "Recovery", for what each kind of
 * damage means and what `repair` changes.
 */
import { CorruptionError } from "../errors.ts";
import type { ClusterLog } from "../log/clusterlog.ts";
import { latin1ToBytes } from "../encoding/bytes.ts";
import { joinPath, type FileHandle, type FileSystem } from "../platform/fs.ts";
import type { Random } from "../platform/random.ts";
import { KIND_PUT, KIND_VALUE_POINTER, type MemTable } from "./memtable/memtable.ts";
import { MemTableLoader } from "./memtable/bulk-load.ts";
import { PUT_VALUE_POINTER, WriteBatch } from "./write-batch.ts";
import { listDbFiles, maxFileNumber } from "./files.ts";
import { sealWalRecord, walFileName, WAL_RECORD_HEADER_BYTES } from "./wal/format.ts";
import { replayWal, type WalReplayResult } from "./wal/reader.ts";
import { WalWriter } from "./wal/writer.ts";

export interface RecoveryResult {
  memtable: MemTable;
  /** The sequence number to continue after: never below any record seen on disk. */
  lastSeq: number;
  /** The log to append to; undefined when opened read-only. */
  writer: WalWriter | undefined;
  replays: WalReplayResult[];
}

export interface RecoveryOptions {
  readOnly: boolean;
  repair: boolean;
  log: ClusterLog;
  /** Draws the salt of every new log. */
  random: Random;
  /** Logs below this number are obsolete (their data is in tables) and not replayed (default 0: all). */
  minLogNumber?: number;
  /** Hands out the number of a new log (the version set's newFileNumber). */
  newLogNumber: () => number;
  /** Why a replayed value-log pointer's record is not on disk whole (undefined: it is); see wal/reader.ts. */
  pointerCheck?: (key: string, pointer: Uint8Array) => string | undefined;
  /** Value-log bytes a replayed pointer names (the memtable is charged for them, SPEC.md 10.8). */
  pointerBytes?: (pointer: Uint8Array) => number;
  /** Makes the value log durable: before repair writes a fresh log of pointers into it. */
  syncValues?: () => Promise<void>;
}

/** Log numbers of the WAL files in `dir`, ascending (names classified by files.ts). */
export function listWalNumbers(fs: FileSystem, dir: string): number[] { // A
  return listDbFiles(fs, dir).logs;
}

interface Replayed {
  memtable: MemTable;
  numbers: number[];
  replays: WalReplayResult[];
  lastSeq: number;
  maxSeqSeen: number;
}

function replayAll( // PA
  fs: FileSystem,
  dir: string,
  repair: boolean,
  minLogNumber: number,
  pointerCheck: RecoveryOptions["pointerCheck"],
  pointerBytes: RecoveryOptions["pointerBytes"],
): Replayed {
  // Versions are collected and the memtable built in key order at the end (bulk-load.ts): several times faster than inserts in log order.
  const loader = new MemTableLoader();
  const numbers = listWalNumbers(fs, dir).filter((n) => n >= minLogNumber);
  const replays: WalReplayResult[] = [];
  let lastSeq = 0;
  let maxSeqSeen = 0;
  let valueLogBytes = 0;
  const visit = (key: string, seq: number, kind: number, buf: Uint8Array | undefined, off: number, len: number): void => { // A
    loader.add(key, seq, kind, buf, off, len);
    if (kind === KIND_VALUE_POINTER && pointerBytes !== undefined) valueLogBytes += pointerBytes(buf!.subarray(off, off + len));
  };
  for (let i = 0; i < numbers.length; i++) {
    const path = joinPath(dir, walFileName(numbers[i]!));
    const r = replayWal(fs, path, { newest: i === numbers.length - 1, repair, lastSeq, visit, pointerCheck });
    if (r.logNumber !== undefined && r.logNumber !== numbers[i]) {
      throw new CorruptionError(`WAL header names log ${r.logNumber} but the file is log ${numbers[i]}`, { file: path, offset: 12 });
    }
    lastSeq = r.lastSeq;
    maxSeqSeen = Math.max(maxSeqSeen, r.maxSeqSeen);
    replays.push(r);
  }
  const memtable = loader.build();
  memtable.chargeValueLog(valueLogBytes);
  return { memtable, numbers, replays, lastSeq, maxSeqSeen };
}

export async function recoverDatabase(fs: FileSystem, dir: string, opts: RecoveryOptions): Promise<RecoveryResult> { // PA
  const r = replayAll(fs, dir, opts.repair, opts.minLogNumber ?? 0, opts.pointerCheck, opts.pointerBytes);
  for (const rep of r.replays) reportDamage(rep, opts.log);
  if (!opts.readOnly) {
    let kept = false;
    for (const rep of r.replays) kept = (await keepDamagedBytes(fs, rep, opts.log)) || kept;
    // The copies' names must be durable before the log they came from is cut.
    if (kept) await fs.syncDir(dir);
    if (opts.repair && r.replays.some((rep) => rep.damage.length > 0)) {
      // The fresh log will hold pointers into the value log: its bytes must be durable first.
      await opts.syncValues?.();
      await rewriteAfterRepair(fs, dir, r, opts);
      return recoverDatabase(fs, dir, { ...opts, repair: false });
    }
  }
  const writer = opts.readOnly ? undefined : continueNewestLog(fs, dir, r, opts);
  return { memtable: r.memtable, lastSeq: Math.max(r.lastSeq, r.maxSeqSeen), writer, replays: r.replays };
}

/**
 * After a repair skipped damage, the logs still hold the holes, and a later
 * open without repair would stop at them again. So the recovered state is
 * written to a fresh log (the newest version of every key, tombstones
 * included; fsynced with its directory), and only then are the
 * old logs renamed `*.pre-repair` (kept, never deleted). A crash in between
 * leaves old and new logs side by side, which replay to the same state.
 */
async function rewriteAfterRepair(fs: FileSystem, dir: string, r: Replayed, opts: RecoveryOptions): Promise<void> { // PA
  // Above every number in use, set-aside copies included, so no evidence is overwritten.
  let fresh = opts.newLogNumber();
  while (fresh <= maxFileNumber(listDbFiles(fs, dir))) fresh = opts.newLogNumber();
  const writer = WalWriter.create(fs, dir, fresh, opts.random.nextU32());
  let seq = Math.max(r.lastSeq, r.maxSeqSeen) + 1;
  let keys = 0;
  try {
    const batch = new WriteBatch();
    const flushBatch = (): void => { // A
      if (batch.length === 0) return;
      const rec = batch.toRecord();
      sealWalRecord(rec, 0, rec.length - WAL_RECORD_HEADER_BYTES, seq, writer.checksumSeed);
      writer.append(rec);
      seq += batch.length;
      batch.clear();
    };
    const it = r.memtable.iterator();
    for (it.seekFirst(); it.valid(); it.next()) {
      const e = it.visible(r.lastSeq);
      if (e === undefined) continue;
      // Tombstones are kept: once tables exist, a delete known only to the WAL
      // must still hide the older value in a table.
      if (e.kind === KIND_PUT) batch.put(latin1ToBytes(it.key()), e.value!);
      else if (e.kind === KIND_VALUE_POINTER) batch[PUT_VALUE_POINTER](latin1ToBytes(it.key()), e.value!);
      else batch.delete(latin1ToBytes(it.key()));
      keys++;
      if (batch.byteLength >= 1024 * 1024) flushBatch();
    }
    flushBatch();
    await writer.sync();
  } finally {
    writer.close();
  }
  for (const n of r.numbers) fs.rename(joinPath(dir, walFileName(n)), joinPath(dir, `${walFileName(n)}.pre-repair`));
  await fs.syncDir(dir);
  opts.log.warn("wal.repaired", { dir, keys, log: walFileName(fresh), retired: r.numbers.map(walFileName) });
}

/**
 * Before a damaged tail holding valid records is cut off, copy it aside so
 * nothing is destroyed. Returns whether a copy was made (the caller syncs the directory).
 */
async function keepDamagedBytes(fs: FileSystem, r: WalReplayResult, log: ClusterLog): Promise<boolean> { // PA
  let kept = false;
  for (const d of r.damage) {
    if (d.recordsAfter === 0 || d.droppedBytes === 0) continue;
    const copyPath = `${r.path}.damaged-${d.offset}`;
    const src = fs.open(r.path, { readOnly: true });
    try {
      const dst = fs.open(copyPath, { create: true, truncate: true });
      try {
        copyRange(src, dst, d.offset, d.droppedBytes);
        await dst.sync();
      } finally {
        dst.close();
      }
    } finally {
      src.close();
    }
    kept = true;
    log.warn("wal.damaged-bytes-kept", { file: r.path, offset: d.offset, bytes: d.droppedBytes, copy: copyPath });
  }
  return kept;
}

function copyRange(src: FileHandle, dst: FileHandle, offset: number, bytes: number): void { // A
  const chunk = new Uint8Array(Math.min(bytes, 1024 * 1024));
  for (let done = 0; done < bytes; ) {
    const got = src.read(chunk.subarray(0, Math.min(chunk.length, bytes - done)), offset + done);
    if (got === 0) break;
    dst.write(chunk.subarray(0, got), done);
    done += got;
  }
}

function reportDamage(r: WalReplayResult, log: ClusterLog): void { // A
  for (const d of r.damage) {
    const fields = { file: r.path, offset: d.offset, reason: d.reason, droppedBytes: d.droppedBytes, recordsAfter: d.recordsAfter };
    if (d.recordsAfter > 0) log.error("wal.damage", fields);
    else log.warn("wal.torn-tail", fields);
  }
}

function continueNewestLog(fs: FileSystem, dir: string, r: Replayed, opts: RecoveryOptions): WalWriter { // PA
  const random = opts.random;
  if (r.numbers.length === 0) return WalWriter.create(fs, dir, opts.newLogNumber(), random.nextU32());
  const newest = r.numbers[r.numbers.length - 1]!;
  const rep = r.replays[r.replays.length - 1]!;
  if (rep.logNumber === undefined) {
    // The newest log was cut inside its header: it holds nothing; start it again.
    fs.remove(rep.path);
    return WalWriter.create(fs, dir, newest, random.nextU32());
  }
  return WalWriter.reopen(fs, dir, newest, rep.checksumSeed!, rep.validEndBytes);
}
