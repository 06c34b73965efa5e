/**
 * Opening a database: replay every WAL file, oldest first, into a fresh
 * memtable, then continue the newest log (cut back to its last valid record)
 * or start the first one. See SPEC.md, "Recovery", for what each kind of
 * damage means and what `repair` changes.
 */
import { CorruptionError } from "../errors.ts";
import type { ClusterLog } from "../log/clusterlog.ts";
import { joinPath, type FileSystem } from "../platform/fs.ts";
import { MemTable } from "./memtable/memtable.ts";
import { parseWalFileName, walFileName } from "./wal/format.ts";
import { replayWal, type WalReplayResult } from "./wal/reader.ts";
import { WalWriter } from "./wal/writer.ts";

export interface RecoveryResult {
  memtable: MemTable;
  lastSeq: number;
  /** The log to append to; undefined when opened read-only. */
  writer: WalWriter | undefined;
  replays: WalReplayResult[];
}

export interface RecoveryOptions {
  readOnly: boolean;
  repair: boolean;
  log: ClusterLog;
}

/** Log numbers of the WAL files in `dir`, ascending. */
export function listWalNumbers(fs: FileSystem, dir: string): number[] { // A
  const numbers: number[] = [];
  for (const name of fs.list(dir)) {
    const n = parseWalFileName(name);
    if (n !== undefined) numbers.push(n);
  }
  return numbers.sort((a, b) => a - b);
}

export async function recoverDatabase(fs: FileSystem, dir: string, opts: RecoveryOptions): Promise<RecoveryResult> { // PA
  const memtable = new MemTable();
  const numbers = listWalNumbers(fs, dir);
  const replays: WalReplayResult[] = [];
  let lastSeq = 0;
  const visit = (key: string, seq: number, kind: number, value: Uint8Array | undefined): void => { // A
    memtable.add(key, seq, kind, value);
  };
  for (let i = 0; i < numbers.length; i++) {
    const path = joinPath(dir, walFileName(numbers[i]!));
    const r = replayWal(fs, path, { newest: i === numbers.length - 1, repair: opts.repair, lastSeq, visit });
    if (r.logNumber !== undefined && r.logNumber !== numbers[i]) {
      throw new CorruptionError(`WAL header names log ${r.logNumber} but the file is log ${numbers[i]}`, { file: path, offset: 12 });
    }
    lastSeq = r.lastSeq;
    replays.push(r);
    if (!opts.readOnly) await keepDamagedBytes(fs, r, opts.log);
    reportDamage(r, opts.log);
  }
  const writer = opts.readOnly ? undefined : continueNewestLog(fs, dir, numbers, replays);
  return { memtable, lastSeq, writer, replays };
}

/** Before a damaged tail holding valid records is cut off, copy it aside so nothing is destroyed. */
async function keepDamagedBytes(fs: FileSystem, r: WalReplayResult, log: ClusterLog): Promise<void> { // PA
  for (const d of r.damage) {
    if (d.recordsAfter === 0) continue;
    const copyPath = `${r.path}.damaged-${d.offset}`;
    const src = fs.open(r.path, { readOnly: true });
    const dst = fs.open(copyPath, { create: true, truncate: true });
    try {
      const chunk = new Uint8Array(Math.min(d.droppedBytes, 1024 * 1024));
      for (let done = 0; done < d.droppedBytes; ) {
        const want = Math.min(chunk.length, d.droppedBytes - done);
        const got = src.read(chunk.subarray(0, want), d.offset + done);
        if (got === 0) break;
        dst.write(chunk.subarray(0, got), done);
        done += got;
      }
      await dst.sync();
    } finally {
      src.close();
      dst.close();
    }
    log.warn("wal.damaged-bytes-kept", { file: r.path, offset: d.offset, bytes: d.droppedBytes, copy: copyPath });
  }
}

function reportDamage(r: WalReplayResult, log: ClusterLog): void { // A
  for (const d of r.damage) {
    const fields = { file: r.path, offset: d.offset, reason: d.reason, droppedBytes: d.droppedBytes, recordsAfter: d.recordsAfter };
    if (d.recordsAfter > 0) log.error("wal.damage", fields);
    else log.warn("wal.torn-tail", fields);
  }
}

function continueNewestLog(fs: FileSystem, dir: string, numbers: number[], replays: WalReplayResult[]): WalWriter { // PA
  if (numbers.length === 0) return WalWriter.create(fs, dir, 1);
  const newest = numbers[numbers.length - 1]!;
  const r = replays[replays.length - 1]!;
  if (r.logNumber === undefined) {
    // The newest log was cut inside its header: it holds nothing; start it again.
    fs.remove(r.path);
    return WalWriter.create(fs, dir, newest);
  }
  return WalWriter.reopen(fs, dir, newest, r.validEndBytes);
}
