/**
 * The input side of a compaction: one entry source per level-0 file and
 * one per deeper level (its files are disjoint and sorted, so they are read
 * one after the other, each table acquired from the table cache only while
 * it is read), merged by a binary heap into table order (key ascending,
 * seq descending).
 *
 * Cost sketch: per entry one heap sift of log2(k) steps (k sources, rarely
 * more than ~10), each a latin1 string compare (~20-50 ns): well under the
 * ~1 us per entry of decoding and re-encoding. Memory: one pending entry per
 * source plus the blocks being read.
 */
import { CorruptionError } from "../../errors.ts";
import type { TableCache } from "../cache/table-cache.ts";
import type { FileMeta } from "../manifest/version-edit.ts";
import type { TableEntry, TableReader } from "../sstable/table-reader.ts";

export interface EntrySource {
  /** The next entry in table order, or undefined at the end. */
  next(): TableEntry | undefined;
  /** Releases whatever the source holds; safe to call twice. */
  close(): void;
  /** For messages: which file the last entry came from. */
  where(): string;
}

/** The files of one level (or one level-0 file) read in order, one table pinned at a time. */
export class FilesSource implements EntrySource {
  private at = 0;
  private gen: Generator<TableEntry> | undefined = undefined;
  private held: FileMeta | undefined = undefined;
  private closed = false;
  bytesRead = 0;

  constructor(private readonly level: number, private readonly files: readonly FileMeta[], private readonly tables: TableCache<TableReader>) {} // A

  next(): TableEntry | undefined { // PA
    // Bounded: each pass either returns or moves to the next of the files.
    for (let pass = 0; pass <= this.files.length; pass++) {
      if (this.gen !== undefined) {
        const r = this.gen.next();
        if (r.done !== true) return this.checked(r.value);
        this.release();
      }
      if (this.closed || this.at >= this.files.length) return undefined;
      const f = this.files[this.at++]!;
      const reader = this.tables.acquire(f.fileNumber);
      this.held = f;
      this.bytesRead += f.sizeBytes;
      this.gen = reader.entries(false);
    }
    return undefined;
  }

  where(): string { // A
    return this.held === undefined ? `level ${this.level}` : `table ${this.held.fileNumber} at level ${this.level}`;
  }

  close(): void { // A
    this.closed = true;
    this.release();
  }

  /** An entry outside the key range the manifest gives its file means the file or the manifest is wrong. */
  private checked(e: TableEntry): TableEntry { // PA
    const f = this.held!;
    if (e.key < f.smallestKey || e.key > f.largestKey || e.seq < f.minSeq || e.seq > f.maxSeq) {
      throw new CorruptionError(`table ${f.fileNumber} holds a version (seq ${e.seq}) outside the key/sequence range the manifest records for it`);
    }
    return e;
  }

  private release(): void { // A
    this.gen = undefined;
    if (this.held === undefined) return;
    const n = this.held.fileNumber;
    this.held = undefined;
    this.tables.release(n);
  }
}

interface HeapItem {
  entry: TableEntry;
  src: EntrySource;
}

/** True when a sorts before b in table order. */
function before(a: TableEntry, b: TableEntry): boolean { // A
  return a.key < b.key || (a.key === b.key && a.seq > b.seq);
}

/** A k-way merge of sources by a binary min-heap. */
export class MergedEntries {
  private readonly heap: HeapItem[] = [];
  /** The source of the entry next() returned last. */
  lastSource: EntrySource | undefined = undefined;

  constructor(private readonly sources: readonly EntrySource[]) { // A
    for (const src of sources) {
      const entry = src.next();
      if (entry !== undefined) this.push({ entry, src });
    }
  }

  next(): TableEntry | undefined { // PA
    const top = this.heap[0];
    if (top === undefined) return undefined;
    const out = top.entry;
    this.lastSource = top.src;
    const refill = top.src.next();
    if (refill !== undefined) {
      top.entry = refill;
      this.siftDown(0);
    } else {
      const last = this.heap.pop()!;
      if (this.heap.length > 0) {
        this.heap[0] = last;
        this.siftDown(0);
      }
    }
    return out;
  }

  close(): void { // A
    for (const s of this.sources) s.close();
  }

  private push(item: HeapItem): void { // A
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!.entry, h[p]!.entry)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private siftDown(i: number): void { // A
    const h = this.heap;
    const n = h.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && before(h[l]!.entry, h[m]!.entry)) m = l;
      if (r < n && before(h[r]!.entry, h[m]!.entry)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}
