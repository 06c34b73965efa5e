/**
 * `db.verify()`: re-reads every file of the database and checks every
 * checksum, reporting per file instead of stopping at the first problem:
 * the WAL logs (every record), the live tables (every block, read from the
 * file, never from the cache, plus the entry counts against the
 * properties), the live manifest (every edit), every value-log file
 * (every record's checksums, by a scan), and every value a live key's
 * pointer names (read and checked as a get would).
 */
import { OuroborosError } from "../errors.ts";
import { joinPath, type FileSystem } from "../platform/fs.ts";
import { manifestFileName } from "./manifest/manifest-format.ts";
import { replayManifest } from "./manifest/replay.ts";
import { listWalNumbers } from "./recovery.ts";
import { tableFileName } from "./sstable/format.ts";
import { TableReader } from "./sstable/table-reader.ts";
import type { Tree } from "./tree/tree.ts";
import { walFileName } from "./wal/format.ts";
import { KIND_VALUE_POINTER } from "./memtable/memtable.ts";
import { vlogFileName } from "./vlog/format.ts";
import { ValueLogScanner } from "./vlog/scan.ts";
import { replayWal } from "./wal/reader.ts";

export interface FileVerifyReport {
  file: string;
  kind: "wal" | "table" | "manifest" | "vlog" | "pointers";
  bytes: number;
  /** WAL: records; table: blocks; manifest: edits; vlog: records; pointers: keys checked. */
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
  return summarize(files);
}

function summarize(files: FileVerifyReport[]): VerifyReport { // A
  const problemCount = files.reduce((n, f) => n + f.problems.length, 0);
  return { ok: problemCount === 0, files, problemCount };
}

function message(e: unknown): string { // A
  return e instanceof OuroborosError ? e.message : String(e);
}

/** Logs, then every table of the current version, then the live manifest, then the value log (files, then live pointers at `seq`). */
export async function verifyDatabase(fs: FileSystem, dir: string, tree: Tree, seq: number): Promise<VerifyReport> { // PA
  const files = (await verifyLogs(fs, dir)).files;
  const version = tree.readState.version.ref();
  try {
    version.forEachFile((f) => { // A
      const path = joinPath(dir, tableFileName(f.fileNumber));
      const rep: FileVerifyReport = { file: path, kind: "table", bytes: f.sizeBytes, records: 0, entries: 0, problems: [] };
      let reader: TableReader | undefined;
      try {
        reader = TableReader.open(fs, path, f.fileNumber);
        const r = reader.verify();
        rep.records = r.blocks;
        rep.entries = reader.properties.entryCount;
        rep.problems.push(...r.problems);
        if (reader.properties.fileBytes !== f.sizeBytes) rep.problems.push(`${path}: ${reader.properties.fileBytes} bytes, the manifest says ${f.sizeBytes}`);
      } catch (e) {
        rep.problems.push(message(e));
      } finally {
        reader?.close();
      }
      files.push(rep);
    });
  } finally {
    version.unref();
  }
  const n = tree.vs.manifestNumber;
  if (n > 0) {
    const path = joinPath(dir, manifestFileName(n));
    const rep: FileVerifyReport = { file: path, kind: "manifest", bytes: fs.stat(path)?.sizeBytes ?? 0, records: 0, entries: 0, problems: [] };
    try {
      const st = replayManifest(fs, dir, n);
      rep.records = st.records;
      if (st.tornTailBytes > 0) rep.problems.push(`${path}: ${st.tornTailBytes} bytes of torn tail`);
    } catch (e) {
      rep.problems.push(message(e));
    }
    files.push(rep);
  }
  verifyValueLog(fs, dir, tree, seq, files);
  return summarize(files);
}

/**
 * Scans every value-log file (checksums of every record). A torn tail is no
 * problem (a crash cut a write whose pointers recovery never applied);
 * damage is. Then every live key's pointer is resolved as a read would.
 */
function verifyValueLog(fs: FileSystem, dir: string, tree: Tree, seq: number, files: FileVerifyReport[]): void { // PA
  const values = tree.values;
  if (values === undefined) return;
  for (const n of values.fileNumbers) {
    const path = joinPath(dir, vlogFileName(n));
    const rep: FileVerifyReport = { file: path, kind: "vlog", bytes: 0, records: 0, entries: 0, problems: [] };
    try {
      const h = fs.open(path, { readOnly: true });
      try {
        const scan = new ValueLogScanner(h, path, n);
        rep.bytes = scan.fileSizeBytes;
        for (const r of scan) rep.entries += r.valueBytes > 0 ? 1 : 0;
        rep.records = scan.end!.records;
        if (scan.end!.status === "corrupt") rep.problems.push(message(scan.end!.error ?? `${path}: damaged at ${scan.end!.validEndBytes}`));
      } finally {
        h.close();
      }
    } catch (e) {
      rep.problems.push(message(e));
    }
    files.push(rep);
  }
  const rep: FileVerifyReport = { file: dir, kind: "pointers", bytes: 0, records: 0, entries: 0, problems: [] };
  const tc = tree.cursor();
  try {
    // Bounded by the keys in the tree; problems are capped so a lost file does not make a huge report.
    for (tc.cursor.seekFirst(); tc.cursor.valid() && rep.problems.length < 100; tc.cursor.next()) {
      const e = tc.cursor.visible(seq);
      if (e === undefined || e.kind !== KIND_VALUE_POINTER) continue;
      rep.records++;
      try {
        rep.bytes += values.read(tc.cursor.key(), e.value!).length;
      } catch (err) {
        rep.problems.push(message(err));
      }
    }
  } catch (e) {
    rep.problems.push(message(e));
  } finally {
    tc.close();
  }
  files.push(rep);
}
