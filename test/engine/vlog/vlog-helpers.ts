import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import type { FileHandle, FileSystem } from "../../../src/platform/fs.ts";
import { ValueLogWriter } from "../../../src/engine/vlog/writer.ts";
import { ValueLogScanner, type ScanOptions, type ScannedRecord, type ScanEnd } from "../../../src/engine/vlog/scan.ts";
import type { ValuePointer } from "../../../src/engine/vlog/pointer.ts";

export const PATH = "/db/000007.vlog";
export const FILE_NUMBER = 7;

export interface Rec {
  key: string;
  seq: number;
  value: Uint8Array;
}

export interface Written extends Rec {
  pointer: ValuePointer;
}

/** A deterministic value of `n` bytes for record `i`. */
export function valueOf(i: number, n: number): Uint8Array {
  const v = new Uint8Array(n);
  let x = (i + 1) * 2654435761;
  for (let j = 0; j < n; j++) {
    x = Math.imul(x ^ (x >>> 13), 0x5bd1e995) >>> 0;
    v[j] = x & 0xff;
  }
  return v;
}

export function recs(count: number, valueBytes = 100): Rec[] {
  return Array.from({ length: count }, (_, i) => ({ key: `key:${i}\u00ff${String.fromCharCode(i & 0xff)}`, seq: 1000 + i, value: valueOf(i, valueBytes + (i % 7) * 13) }));
}

export function newFs(): MemFileSystem {
  const fs = new MemFileSystem();
  fs.mkdir("/db", { recursive: true });
  return fs;
}

/** Writes the records in one flush; returns the fs and what was written. */
export function writeFile(records: Rec[], fs: FileSystem = newFs()): { fs: FileSystem; written: Written[] } {
  const w = ValueLogWriter.create(fs, PATH, FILE_NUMBER, 0x1234abcd);
  const written = records.map((r) => ({ ...r, pointer: w.append(r.key, r.seq, r.value) }));
  w.flush();
  w.close();
  return { fs, written };
}

export function scanAll(handle: FileHandle, options: ScanOptions = {}): { records: ScannedRecord[]; end: ScanEnd } {
  const s = new ValueLogScanner(handle, handle.path, FILE_NUMBER, options);
  const records: ScannedRecord[] = [];
  for (const r of s) records.push(r);
  return { records, end: s.end! };
}

export function scanFile(fs: FileSystem, path = PATH, options: ScanOptions = {}): { records: ScannedRecord[]; end: ScanEnd } {
  const h = fs.open(path, { readOnly: true });
  try {
    return scanAll(h, options);
  } finally {
    h.close();
  }
}
