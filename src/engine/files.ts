/**
 * The database directory by file name: one listing, each name put in exactly
 * one class (WAL log, table, value-log file, manifest, CURRENT, CURRENT.tmp, LOCK,
 * LOCK.break, damaged-log copy, retired log, or unknown), so recovery,
 * garbage collection and repair all read the directory the same way.
 *
 * A name counts as a log, table or manifest only in its canonical form: the
 * format module's parser accepts it, the number is a safe integer, and the
 * module's name function turns the number back into the very same name.
 * "0000001.log" (7 digits for 1) is therefore unknown: code that opens
 * walFileName(1) would not find it. Unknown files are reported, never
 * removed by anything that reads this listing.
 *
 * Cost: one directory read (FileSystem.list) and a regex per name; a few
 * microseconds per file, nothing read from inside the files.
 */
import type { FileSystem } from "../platform/fs.ts";
import { CURRENT_FILE, CURRENT_TMP_FILE } from "./manifest/current.ts";
import { manifestFileName, parseManifestFileName } from "./manifest/manifest-format.ts";
import { parseTableFileName, tableFileName } from "./sstable/format.ts";
import { parseVlogFileName, vlogFileName } from "./vlog/format.ts";
import { parseWalFileName, walFileName } from "./wal/format.ts";

export const LOCK_FILE_NAME = "LOCK";
/** The helper file the node lock uses while breaking a stale lock (src/platform/node-lock.ts). */
export const LOCK_BREAK_FILE_NAME = "LOCK.break";
/** Suffix of a log retired by WAL repair: `NNNNNN.log.pre-repair`. */
export const PRE_REPAIR_SUFFIX = ".pre-repair";
/** Infix of the copy of a damaged log tail: `NNNNNN.log.damaged-OFFSET`. */
export const DAMAGED_INFIX = ".damaged-";

export interface DbFiles {
  /** Numbers of the `NNNNNN.log` files, ascending. */
  logs: number[];
  /** Numbers of the `NNNNNN.sst` files, ascending. */
  tables: number[];
  /** Numbers of the `NNNNNN.vlog` files, ascending. */
  vlogs: number[];
  /** Numbers of the `MANIFEST-NNNNNN` files, ascending. */
  manifests: number[];
  current: boolean;
  currentTmp: boolean;
  /** Names of the `NNNNNN.log.damaged-OFFSET` copies, in listing order. */
  damaged: string[];
  /** Names of the `NNNNNN.log.pre-repair` files, in listing order. */
  preRepair: string[];
  /** Every other name (LOCK and LOCK.break are known and not listed here). */
  unknown: string[];
}

/** Lists `dir` once and classifies every entry by name. Errors of FileSystem.list (e.g. NotFoundError) pass through. */
export function listDbFiles(fs: FileSystem, dir: string): DbFiles { // A
  const files: DbFiles = { logs: [], tables: [], vlogs: [], manifests: [], current: false, currentTmp: false, damaged: [], preRepair: [], unknown: [] };
  // Bounded by the directory listing, which the file system returns whole.
  for (const name of fs.list(dir)) classifyInto(files, name);
  const ascending = (a: number, b: number): number => a - b; // A
  files.logs.sort(ascending);
  files.tables.sort(ascending);
  files.vlogs.sort(ascending);
  files.manifests.sort(ascending);
  return files;
}

/**
 * The largest file number any name in `files` uses (logs, tables,
 * value-log files, manifests, and the logs named by damaged copies and retired logs, so a new
 * log never reuses such a number and overwrites their evidence); 0 if none.
 */
export function maxFileNumber(files: DbFiles): number { // A
  let max = 0;
  for (const list of [files.logs, files.tables, files.vlogs, files.manifests]) for (const n of list) if (n > max) max = n;
  for (const name of files.damaged) max = Math.max(max, parseDamagedLogName(name)?.logNumber ?? 0);
  for (const name of files.preRepair) max = Math.max(max, parsePreRepairLogName(name) ?? 0);
  return max;
}

/** `NNNNNN.log.damaged-OFFSET` split into the log number and the offset; undefined if the name is not one. */
export function parseDamagedLogName(name: string): { logNumber: number; offset: number } | undefined { // A
  const at = name.indexOf(DAMAGED_INFIX);
  if (at < 0) return undefined;
  const logNumber = canonicalNumber(name.slice(0, at), parseWalFileName, walFileName);
  const offsetText = name.slice(at + DAMAGED_INFIX.length);
  if (logNumber === undefined || !/^(0|[1-9]\d{0,15})$/.test(offsetText)) return undefined;
  const offset = Number(offsetText);
  return Number.isSafeInteger(offset) ? { logNumber, offset } : undefined;
}

/** The log number of `NNNNNN.log.pre-repair`; undefined if the name is not one. */
export function parsePreRepairLogName(name: string): number | undefined { // A
  if (!name.endsWith(PRE_REPAIR_SUFFIX)) return undefined;
  return canonicalNumber(name.slice(0, name.length - PRE_REPAIR_SUFFIX.length), parseWalFileName, walFileName);
}

function classifyInto(files: DbFiles, name: string): void { // A
  const log = canonicalNumber(name, parseWalFileName, walFileName);
  if (log !== undefined) {
    files.logs.push(log);
    return;
  }
  const table = canonicalNumber(name, parseTableFileName, tableFileName);
  if (table !== undefined) {
    files.tables.push(table);
    return;
  }
  const vlog = canonicalNumber(name, parseVlogFileName, vlogFileName);
  if (vlog !== undefined) {
    files.vlogs.push(vlog);
    return;
  }
  const manifest = canonicalNumber(name, parseManifestFileName, manifestFileName);
  if (manifest !== undefined) {
    files.manifests.push(manifest);
    return;
  }
  if (name === CURRENT_FILE) files.current = true;
  else if (name === CURRENT_TMP_FILE) files.currentTmp = true;
  else if (name === LOCK_FILE_NAME || name === LOCK_BREAK_FILE_NAME) return; // known, not listed
  else if (parseDamagedLogName(name) !== undefined) files.damaged.push(name);
  else if (parsePreRepairLogName(name) !== undefined) files.preRepair.push(name);
  else files.unknown.push(name);
}

/** The number `parse` reads from `name`, only if it is a safe integer that `format` turns back into `name`. */
function canonicalNumber(name: string, parse: (name: string) => number | undefined, format: (n: number) => string): number | undefined { // A
  const n = parse(name);
  if (n === undefined || !Number.isSafeInteger(n) || n < 0) return undefined;
  return format(n) === name ? n : undefined;
}
