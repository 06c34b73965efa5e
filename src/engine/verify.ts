/**
 * `db.verify()`: re-reads every file of the database and checks every
 * checksum, reporting per file instead of stopping at the first problem.
 * In this slice the files are the WAL logs.
 */
import { OuroborosError } from "../errors.ts";
import { joinPath, type FileSystem } from "../platform/fs.ts";
import { listWalNumbers } from "./recovery.ts";
import { walFileName } from "./wal/format.ts";
import { replayWal } from "./wal/reader.ts";

export interface FileVerifyReport {
  file: string;
  kind: "wal";
  bytes: number;
  records: number;
  entries: number;
  problems: string[];
}

export interface VerifyReport {
  ok: boolean;
  files: FileVerifyReport[];
  problemCount: number;
}

export async function verifyLogs(fs: FileSystem, dir: string): Promise<VerifyReport> { // PA
  const numbers = listWalNumbers(fs, dir);
  const files: FileVerifyReport[] = [];
  let lastSeq = 0;
  for (const n of numbers) {
    const path = joinPath(dir, walFileName(n));
    const rep: FileVerifyReport = { file: path, kind: "wal", bytes: 0, records: 0, entries: 0, problems: [] };
    try {
      // repair: true makes the reader skip and report damage instead of throwing.
      const r = replayWal(fs, path, { newest: false, repair: true, lastSeq, visit: () => {} });
      rep.bytes = r.fileBytes;
      rep.records = r.records;
      rep.entries = r.entries;
      lastSeq = r.lastSeq;
      for (const d of r.damage) rep.problems.push(`offset ${d.offset}: ${d.reason} (${d.droppedBytes} bytes unreadable)`);
    } catch (e) {
      rep.problems.push(e instanceof OuroborosError ? e.message : String(e));
    }
    files.push(rep);
  }
  const problemCount = files.reduce((n, f) => n + f.problems.length, 0);
  return { ok: problemCount === 0, files, problemCount };
}
