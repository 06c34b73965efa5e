/**
 * Helpers for the LSM engine tests in test/engine/lsm/: the configurations
 * every metamorphic run is repeated under, a typed view of the LSM methods
 * of the public DB (compact, maintain) that works whether or not the build
 * at hand has them yet, an FS wrapper that records which file each FS call
 * touched (to pick crash points), and a reader of the SSTable layout of
 * SPEC.md section 7 written from the spec (footer, index block, data block
 * keys), so bit-flip tests can aim at one data block and know its keys.
 *
 * Only the public API (src/index.ts) and the byte layout in SPEC.md are used,
 * so these helpers survive any change of the engine's internals.
 */
import { CorruptionError, type DB, type DBOptions, type FileHandle, type FileLock, type FileStat, type FileSystem, type OpenOptions } from "../../src/index.ts";
import { hex } from "./model.ts";

// ---- the LSM methods of DB, as the tests call them ----

export interface CompactRange {
  gt?: Uint8Array | string;
  gte?: Uint8Array | string;
  lt?: Uint8Array | string;
  lte?: Uint8Array | string;
}

interface LsmMethods {
  compact?: (range?: CompactRange) => Promise<unknown>;
  maintain?: () => Promise<unknown>;
}

/** Names of the LSM methods the tests need that this build of DB lacks (empty once the wiring landed). */
export function missingLsmMethods(db: DB): string[] { // A
  const m = db as unknown as LsmMethods;
  return (["compact", "maintain"] as const).filter((n) => typeof m[n] !== "function");
}

/** `db.compact(range)`; a no-op while the build has no compact (the API-presence test fails then). */
export async function compactDB(db: DB, range?: CompactRange): Promise<void> { // A
  const m = db as unknown as LsmMethods;
  if (typeof m.compact === "function") await m.compact.call(db, range);
}

/** `db.maintain()`, the mobile idle hook; a no-op while the build has none. */
export async function maintainDB(db: DB): Promise<void> { // A
  const m = db as unknown as LsmMethods;
  if (typeof m.maintain === "function") await m.maintain.call(db);
}

/** Per-level file counts from `db.stats()` when the build reports them, else undefined. */
export function levelFiles(db: DB): number[] | undefined { // A
  const levels = (db.stats() as unknown as { levels?: Array<{ files: number }> }).levels;
  return Array.isArray(levels) ? levels.map((l) => l.files) : undefined;
}

// ---- configurations ----

export interface LsmConfig {
  name: string;
  options: DBOptions;
}

/** Tiny sizes: every few KiB of writes rotate the memtable, and compactions follow. */
export function tinyOptions(compaction: "leveled" | "tiered" | "mobile"): DBOptions { // A
  return {
    compaction,
    memtableBytes: 4096,
    blockBytes: 128,
    targetFileBytes: 2048,
    l0CompactionTrigger: 2,
    level1Bytes: 8192,
    levelSizeRatio: 4,
    maxSortedRuns: compaction === "mobile" ? 4 : 8,
    tableCacheFiles: 4,
    bloomBitsPerKey: 10,
  };
}

/** The configurations of the metamorphic test: each strategy with default sizes and with tiny ones, and two with a value log. */
export const LSM_CONFIGS: LsmConfig[] = [
  ...(["leveled", "tiered", "mobile"] as const).flatMap((c) => [
    { name: `${c}/default`, options: { compaction: c } },
    { name: `${c}/tiny`, options: tinyOptions(c) },
  ]),
  // Values of 64 bytes or more in the value log (the tests' values straddle it), in small rolling files.
  { name: "leveled/tiny+vlog", options: { ...tinyOptions("leveled"), valueThreshold: 64, vlogFileBytes: 2048 } },
  { name: "mobile/default+vlog", options: { compaction: "mobile", valueThreshold: 64 } },
];

// ---- recording file system ----

export interface FsCall {
  /** 1-based, in the order MemFileSystem counts calls. */
  n: number;
  op: string;
  path: string;
}

/** A pass-through FileSystem that appends one FsCall per call (FS, handle and lock calls alike). */
export function recordingFs(inner: FileSystem, calls: FsCall[]): FileSystem { // A
  const rec = (op: string, path: string): void => { calls.push({ n: calls.length + 1, op, path }); }; // A
  const wrapHandle = (h: FileHandle): FileHandle => ({ // A
    path: h.path,
    read: (into: Uint8Array, position: number): number => { rec("read", h.path); return h.read(into, position); }, // A
    write: (data: Uint8Array, position: number): void => { rec("write", h.path); h.write(data, position); }, // A
    append: (data: Uint8Array): void => { rec("append", h.path); h.append(data); }, // A
    truncate: (sizeBytes: number): void => { rec("truncate", h.path); h.truncate(sizeBytes); }, // A
    size: (): number => { rec("size", h.path); return h.size(); }, // A
    sync: (): Promise<void> => { rec("sync", h.path); return h.sync(); }, // A
    close: (): void => { rec("close", h.path); h.close(); }, // A
  });
  return {
    open: (path: string, options?: OpenOptions): FileHandle => { rec("open", path); return wrapHandle(inner.open(path, options)); }, // A
    readFile: (path: string): Uint8Array => { rec("readFile", path); return inner.readFile(path); }, // A
    rename: (from: string, to: string): void => { rec("rename", `${from} -> ${to}`); inner.rename(from, to); }, // A
    remove: (path: string): void => { rec("remove", path); inner.remove(path); }, // A
    list: (dir: string): string[] => { rec("list", dir); return inner.list(dir); }, // A
    mkdir: (path: string, options?: { recursive?: boolean }): void => { rec("mkdir", path); inner.mkdir(path, options); }, // A
    stat: (path: string): FileStat | undefined => { rec("stat", path); return inner.stat(path); }, // A
    syncDir: (path: string): Promise<void> => { rec("syncDir", path); return inner.syncDir(path); }, // A
    lock: (path: string): FileLock => { // A
      rec("lock", path);
      const l = inner.lock(path);
      return { path: l.path, release: (): void => { rec("release", l.path); l.release(); } }; // A
    },
  };
}

/** Calls that cannot change what a crash leaves on the disk (a crash at one equals a crash at the next state-changing call). */
export function isReadOnlyCall(c: FsCall): boolean { // A
  return ["read", "size", "readFile", "list", "stat"].includes(c.op);
}

/** True for the high-volume WAL data calls (append/write/truncate/sync on a `.log`), which crash tests may stride over. */
export function isWalDataCall(c: FsCall): boolean { // A
  return c.path.endsWith(".log") && ["append", "write", "truncate", "sync"].includes(c.op);
}

// ---- SSTable layout (SPEC.md section 7), read from the bytes ----

export const SST_FOOTER_BYTES = 60;
export const BLOCK_TRAILER_BYTES = 5;

function u32(b: Uint8Array, at: number): number { // A
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16) | (b[at + 3]! << 24)) >>> 0;
}

function u64(b: Uint8Array, at: number): number { // A
  return u32(b, at) + u32(b, at + 4) * 4294967296;
}

function varint(b: Uint8Array, at: number): [number, number] { // A
  let v = 0;
  let scale = 1;
  for (let i = 0; i < 8; i++) {
    const x = b[at++];
    if (x === undefined) throw new Error("test helper: truncated varint");
    v += (x & 0x7f) * scale;
    if (x < 0x80) return [v, at];
    scale *= 128;
  }
  throw new Error("test helper: overlong varint");
}

export interface DataBlock {
  /** Offset of the contents; the 5-byte trailer follows at offset + length. */
  offset: number;
  length: number;
  /** Hex of every key stored in the block, in order (several versions of a key repeat it). */
  keys: string[];
}

/** The data blocks of table file `path` with their keys, decoded from the intact bytes per SPEC.md 7.2-7.4. */
export function tableDataBlocks(bytes: Uint8Array): DataBlock[] { // A
  const footerAt = bytes.length - SST_FOOTER_BYTES;
  const indexOffset = u64(bytes, footerAt);
  const indexLength = u32(bytes, footerAt + 8);
  const index = bytes.subarray(indexOffset, indexOffset + indexLength);
  let [count, at] = varint(index, 0);
  const blocks: DataBlock[] = [];
  for (let i = 0; i < count && i < 1_000_000; i++) {
    let sepLen: number, offset: number, length: number;
    [sepLen, at] = varint(index, at);
    at += sepLen;
    [offset, at] = varint(index, at);
    [length, at] = varint(index, at);
    blocks.push({ offset, length, keys: blockKeys(bytes.subarray(offset, offset + length)) });
  }
  return blocks;
}

/** Keys of one data block's contents (entries, then restart array and count; SPEC.md 7.3). */
function blockKeys(block: Uint8Array): string[] { // A
  const restarts = u32(block, block.length - 4);
  const entriesEnd = block.length - 4 - 4 * restarts;
  const keys: string[] = [];
  let prev = new Uint8Array(0);
  let at = 0;
  while (at < entriesEnd && keys.length < 1_000_000) {
    let shared: number, unshared: number, valueLen: number;
    [shared, at] = varint(block, at);
    [unshared, at] = varint(block, at);
    at += 1; // kind
    [, at] = varint(block, at); // seq
    [valueLen, at] = varint(block, at);
    const key = new Uint8Array(shared + unshared);
    key.set(prev.subarray(0, shared), 0);
    key.set(block.subarray(at, at + unshared), shared);
    at += unshared + valueLen;
    keys.push(hex(key));
    prev = key;
  }
  return keys;
}

/** Absolute paths of the `*.sst` files in `dir`, ascending. */
export function tablePaths(fs: FileSystem, dir: string): string[] { // A
  return fs.list(dir).filter((n) => n.endsWith(".sst")).map((n) => `${dir}/${n}`);
}

// ---- errors and orders ----

/** True if `e` is a CorruptionError that names the file `fileName` (its base name is enough). */
export function isCorruptionNaming(e: unknown, fileName: string): boolean { // A
  return e instanceof CorruptionError && (String(e.file ?? "").endsWith(fileName) || e.message.includes(fileName));
}

