/**
 * Table outputs: the one way flush and compaction turn a stream of entries
 * (key ascending, seq descending) into durable table files.
 *
 * Files are created exclusively under numbers from the version set (and
 * registered as pending, so obsolete-file cleanup never removes a table that
 * is still being written or not yet in the manifest). A new file is started
 * at a user-key boundary once the current one reaches `targetFileBytes`, or
 * once it overlaps more than `maxGrandparentOverlapBytes` of the level below
 * the output (so a later compaction of one output file stays bounded; the
 * LevelDB rule). Versions of one user key never straddle two files, so the
 * files of a level >= 1 keep disjoint key ranges.
 *
 * `finish()` finishes the last table, fsyncs every output and then the
 * directory, and returns the files' metadata for the version edit; until the
 * edit is durable the files are garbage that recovery would remove.
 * `abandon()` removes every output made so far.
 *
 * Cost sketch: the TableBuilder's (one copy per entry, a 64 KiB write call
 * per chunk, one CRC pass) plus one fsync per output file and one of the
 * directory per finish (~1-10 ms each on a real disk).
 */
import { assert } from "../../errors.ts";
import { joinPath, type FileHandle, type FileSystem } from "../../platform/fs.ts";
import type { AddedFile, FileMeta } from "../manifest/version-edit.ts";
import { tableFileName } from "./format.ts";
import { TableBuilder } from "./table-builder.ts";

export interface TableOutputContext {
  fs: FileSystem;
  dir: string;
  /** Hands out a fresh file number (VersionSet.newFileNumber). */
  newFileNumber: () => number;
  /** File numbers being written; the caller's cleanup must leave them alone. Outputs add and remove themselves. */
  pending: Set<number>;
  blockBytes: number;
  bitsPerKey: number;
}

export interface TableOutputOptions {
  level: number;
  /** Start a new file at the next user key once the current one is this big (default: never). */
  targetFileBytes?: number;
  /** Files of the level below `level`, by ascending smallestKey (for the overlap cut). */
  grandparents?: readonly FileMeta[];
  maxGrandparentOverlapBytes?: number;
}

interface OpenTable {
  fileNumber: number;
  handle: FileHandle;
  builder: TableBuilder;
}

export class TableOutputs {
  private current: OpenTable | undefined = undefined;
  /** Finished (written, not yet fsynced) outputs, and every number created (for abandon). */
  private readonly done: Array<{ fileNumber: number; handle: FileHandle; meta: FileMeta }> = [];
  private readonly created: number[] = [];
  private lastKey: string | undefined = undefined;
  private gpIndex = 0;
  private gpOverlap = 0;
  private state: "open" | "finished" | "abandoned" = "open";
  entriesWritten = 0;
  bytesWritten = 0;

  constructor(private readonly ctx: TableOutputContext, private readonly options: TableOutputOptions) {} // A

  /** Adds one version; entries come in table order. Value present iff kind is put. */
  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void { // PA
    assert(this.state === "open", "table output add after finish/abandon");
    if (key !== this.lastKey) {
      if (this.current !== undefined && this.shouldCut(key)) this.finishCurrent();
      this.lastKey = key;
    }
    const t = this.current ?? this.startTable();
    t.builder.add(key, seq, kind, value);
    this.entriesWritten++;
  }

  /** Whether anything was added since the last cut. */
  get isEmpty(): boolean { // A
    return this.current === undefined && this.done.length === 0;
  }

  /** Finishes, fsyncs the outputs and the directory; returns them for the edit (level set). */
  async finish(): Promise<AddedFile[]> { // PA
    assert(this.state === "open", "table output finish twice");
    try {
      if (this.current !== undefined) this.finishCurrent();
      for (const d of this.done) await d.handle.sync();
      if (this.done.length > 0) await this.ctx.fs.syncDir(this.ctx.dir);
    } catch (e) {
      this.abandon();
      throw e;
    }
    this.state = "finished";
    for (const d of this.done) d.handle.close();
    return this.done.map((d) => ({ level: this.options.level, ...d.meta }));
  }

  /** Drops every output made so far (closing and removing the files); best effort. */
  abandon(): void { // A
    if (this.state === "abandoned") return;
    this.state = "abandoned";
    this.current?.builder.abandon();
    this.current?.handle.close();
    this.current = undefined;
    for (const d of this.done) d.handle.close();
    for (const n of this.created) {
      try {
        this.ctx.fs.remove(joinPath(this.ctx.dir, tableFileName(n)));
      } catch {
        // Unreferenced by any manifest: the next open removes it.
      }
    }
    this.releasePending();
  }

  /** Takes the outputs off the pending list (after the edit naming them is durable, or after abandon). */
  releasePending(): void { // A
    for (const n of this.created) this.ctx.pending.delete(n);
  }

  private shouldCut(nextKey: string): boolean { // A
    const o = this.options;
    const gps = o.grandparents;
    if (gps !== undefined && o.maxGrandparentOverlapBytes !== undefined) {
      // Count the grandparent files the output has moved past since this file began.
      while (this.gpIndex < gps.length && gps[this.gpIndex]!.largestKey < nextKey) {
        this.gpOverlap += gps[this.gpIndex]!.sizeBytes;
        this.gpIndex++;
      }
      if (this.gpOverlap > o.maxGrandparentOverlapBytes) return true;
    }
    return o.targetFileBytes !== undefined && this.current!.builder.estimatedBytes >= o.targetFileBytes;
  }

  private startTable(): OpenTable { // PA
    const fileNumber = this.ctx.newFileNumber();
    this.ctx.pending.add(fileNumber);
    this.created.push(fileNumber);
    const handle = this.ctx.fs.open(joinPath(this.ctx.dir, tableFileName(fileNumber)), { exclusive: true });
    try {
      const builder = new TableBuilder(handle, { fileNumber, blockBytes: this.ctx.blockBytes, bitsPerKey: this.ctx.bitsPerKey });
      this.current = { fileNumber, handle, builder };
      this.gpOverlap = 0;
      return this.current;
    } catch (e) {
      handle.close();
      throw e;
    }
  }

  private finishCurrent(): void { // PA
    const t = this.current!;
    this.current = undefined;
    let p;
    try {
      p = t.builder.finish();
    } catch (e) {
      t.handle.close();
      throw e;
    }
    this.bytesWritten += p.fileBytes;
    this.done.push({
      fileNumber: t.fileNumber,
      handle: t.handle,
      meta: {
        fileNumber: t.fileNumber,
        sizeBytes: p.fileBytes,
        smallestKey: p.smallestKey,
        largestKey: p.largestKey,
        minSeq: p.minSeq,
        maxSeq: p.maxSeq,
      },
    });
  }
}
