/**
 * Shared helpers of the compaction tests: hand-built file metadata and
 * versions for picker tests, and a small table environment on a
 * MemFileSystem (write a table, a table cache, a compaction context, the
 * read path over a version) for run and simulation tests.
 */
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { joinPath } from "../../../src/platform/fs.ts";
import { TableCache } from "../../../src/engine/cache/table-cache.ts";
import { TableReader } from "../../../src/engine/sstable/table-reader.ts";
import { TableOutputs } from "../../../src/engine/sstable/table-output.ts";
import { tableFileName } from "../../../src/engine/sstable/format.ts";
import { MAX_LEVELS, type FileMeta } from "../../../src/engine/manifest/version-edit.ts";
import { Version } from "../../../src/engine/manifest/version.ts";
import { resolveOptions, type DBOptions, type ResolvedOptions } from "../../../src/engine/options.ts";
import type { CompactionContext } from "../../../src/engine/compaction/run.ts";
import type { MemEntry } from "../../../src/engine/cursor.ts";

export interface Entry {
  key: string;
  seq: number;
  kind: number;
  value: Uint8Array | undefined;
}

/** Table order: key ascending (latin1 strings compare bytewise), seq descending. */
export function tableOrder(a: Entry, b: Entry): number {
  return a.key < b.key ? -1 : a.key > b.key ? 1 : b.seq - a.seq;
}

export function meta(fileNumber: number, smallestKey: string, largestKey: string, sizeBytes = 1000, minSeq = fileNumber * 10, maxSeq = minSeq + 5): FileMeta {
  return { fileNumber, sizeBytes, smallestKey, largestKey, minSeq, maxSeq };
}

/** A version from files per level (level 0 sorted newest first, the others by smallest key). */
export function versionOf(levels: Partial<Record<number, FileMeta[]>>): Version {
  const out: FileMeta[][] = [];
  for (let l = 0; l < MAX_LEVELS; l++) {
    const files = [...(levels[l] ?? [])];
    if (l === 0) files.sort((a, b) => b.maxSeq - a.maxSeq || b.fileNumber - a.fileNumber);
    else files.sort((a, b) => (a.smallestKey < b.smallestKey ? -1 : 1));
    out.push(files);
  }
  return new Version(out);
}

export function opts(o: DBOptions = {}): ResolvedOptions {
  return resolveOptions(o);
}

export const DIR = "/db";

/** A directory of tables on a MemFileSystem with a file-number counter and a table cache. */
export class TableEnv {
  readonly fs = new MemFileSystem();
  readonly pending = new Set<number>();
  readonly tables: TableCache<TableReader>;
  fileNumberNext = 1;
  pauses = 0;
  cancelled = false;

  constructor(readonly blockBytes = 256, cacheFiles = 8) {
    this.fs.mkdir(DIR, { recursive: true });
    this.tables = new TableCache(cacheFiles, (n) => TableReader.open(this.fs, joinPath(DIR, tableFileName(n)), n));
  }

  /** Writes entries (any order) as one table; returns its metadata. */
  async writeTable(entries: Entry[]): Promise<FileMeta> {
    const out = new TableOutputs(this.ctx([]), { level: 0 });
    for (const e of [...entries].sort(tableOrder)) out.add(e.key, e.seq, e.kind, e.value);
    const [added] = await out.finish();
    out.releasePending();
    const { level: _level, ...m } = added!;
    return m;
  }

  ctx(snapshots: number[], yieldEvery = 7): CompactionContext {
    return {
      fs: this.fs,
      dir: DIR,
      newFileNumber: () => this.fileNumberNext++,
      pending: this.pending,
      blockBytes: this.blockBytes,
      bitsPerKey: 10,
      tables: this.tables,
      snapshots,
      yieldEvery,
      pause: () => {
        this.pauses++;
        return Promise.resolve();
      },
      isCancelled: () => this.cancelled,
    };
  }

  /** Every entry of a table, in stored order. */
  entriesOf(fileNumber: number): Entry[] {
    const r = this.tables.acquire(fileNumber);
    try {
      return [...r.entries()];
    } finally {
      this.tables.release(fileNumber);
    }
  }

  get(fileNumber: number, key: string, seq: number): MemEntry | undefined {
    const r = this.tables.acquire(fileNumber);
    try {
      return r.get(key, seq);
    } finally {
      this.tables.release(fileNumber);
    }
  }

  /** The read path: level 0 newest first, then the one file per level whose range holds key. */
  read(v: Version, key: string, seq: number): MemEntry | undefined {
    for (const f of v.files(0)) {
      if (key < f.smallestKey || key > f.largestKey) continue;
      const e = this.get(f.fileNumber, key, seq);
      if (e !== undefined) return e;
    }
    for (let l = 1; l < MAX_LEVELS; l++) {
      const f = v.files(l).find((x) => key >= x.smallestKey && key <= x.largestKey);
      if (f === undefined) continue;
      const e = this.get(f.fileNumber, key, seq);
      if (e !== undefined) return e;
    }
    return undefined;
  }

  tableFiles(): number[] {
    return this.fs.list(DIR).filter((n) => n.endsWith(".sst")).map((n) => Number(n.slice(0, -4))).sort((a, b) => a - b);
  }
}

/** Newest version of key with seq <= at in a model list of versions. */
export function modelRead(versions: readonly Entry[], key: string, at: number): Entry | undefined {
  let best: Entry | undefined;
  for (const e of versions) if (e.key === key && e.seq <= at && (best === undefined || e.seq > best.seq)) best = e;
  return best;
}

export function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

/** "absent" for a missing key or a tombstone, else the value in hex (what a user read returns). */
export function userView(e: { kind: number; value: Uint8Array | undefined } | undefined): string {
  if (e === undefined || e.kind === 0) return "absent";
  return Array.from(e.value ?? new Uint8Array(), (x) => x.toString(16).padStart(2, "0")).join("");
}
