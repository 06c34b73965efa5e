/**
 * Shared helpers of the SSTable tests: a sorted model of table entries, a
 * fast-check generator of versions, and a one-call table build on a
 * MemFileSystem.
 */
import fc from "fast-check";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { TableBuilder, type TableBuilderOptions } from "../../../src/engine/sstable/table-builder.ts";
import { TableReader, type BlockCacheLike } from "../../../src/engine/sstable/table-reader.ts";
import type { TableProperties } from "../../../src/engine/sstable/properties.ts";
import type { MemEntry } from "../../../src/engine/cursor.ts";
import { compareLatin1 } from "../../support/model.ts";

export interface Entry {
  key: string;
  seq: number;
  kind: number;
  value: Uint8Array | undefined;
}

export { compareLatin1 };

/** Table order: key ascending, then seq descending. */
export function sortEntries(entries: Entry[]): Entry[] {
  return [...entries].sort((x, y) => compareLatin1(x.key, y.key) || y.seq - x.seq);
}

/** The obvious model of a table: a sorted array, scanned linearly. */
export class TableModel {
  readonly keys: string[];
  constructor(readonly entries: Entry[]) {
    this.keys = [...new Set(entries.map((e) => e.key))];
  }

  get(key: string, snapshotSeq: number): Entry | undefined {
    return this.entries.find((e) => e.key === key && e.seq <= snapshotSeq);
  }

  /** Index of the first key >= key (keys.length when none). */
  ceilingIndex(key: string): number {
    const i = this.keys.findIndex((k) => compareLatin1(k, key) >= 0);
    return i < 0 ? this.keys.length : i;
  }

  /** Index of the last key <= key (-1 when none). */
  floorIndex(key: string): number {
    for (let i = this.keys.length - 1; i >= 0; i--) if (compareLatin1(this.keys[i]!, key) <= 0) return i;
    return -1;
  }
}

export function sameEntry(got: MemEntry | undefined, want: Entry | undefined): boolean {
  if (got === undefined || want === undefined) return got === want;
  if (got.seq !== want.seq || got.kind !== want.kind) return false;
  if (got.value === undefined || want.value === undefined) return got.value === want.value;
  return got.value.length === want.value.length && got.value.every((b, i) => b === want.value![i]);
}

export function describeEntry(e: MemEntry | undefined): string {
  return e === undefined ? "undefined" : `{seq ${e.seq}, kind ${e.kind}, ${e.value === undefined ? "no value" : `${e.value.length} bytes`}}`;
}

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));

/** Keys that collide often (tiny alphabet with 0x00 and 0xff, incl. the empty key) plus arbitrary latin1 keys. */
export const keyArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom("\u0000", "a", "b", "\u00ff"), maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, maxLength: 40 }) },
);

interface VersionOp {
  key: string;
  del: boolean;
  valueBytes: number;
  fill: number;
}

const versionOpArb: fc.Arbitrary<VersionOp> = fc.record({
  key: keyArb,
  del: fc.boolean(),
  valueBytes: fc.oneof({ weight: 8, arbitrary: fc.integer({ min: 0, max: 40 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 3000 }) }),
  fill: fc.integer({ min: 0, max: 255 }),
});

/** 1..n versions with distinct increasing seqs (gaps allowed), in table order. */
export function entriesArb(maxVersions: number): fc.Arbitrary<Entry[]> {
  return fc
    .tuple(fc.array(versionOpArb, { minLength: 1, maxLength: maxVersions }), fc.integer({ min: 0, max: 2 ** 40 }), fc.integer({ min: 1, max: 3 }))
    .map(([ops, seqBase, gap]) =>
      sortEntries(
        ops.map((op, i) => {
          const seq = seqBase + i * gap;
          const value = op.del ? undefined : Uint8Array.from({ length: op.valueBytes }, (_, j) => (op.fill + j * 7 + seq) & 255);
          return { key: op.key, seq, kind: op.del ? 0 : 1, value };
        }),
      ),
    );
}

export const optionsArb: fc.Arbitrary<Omit<TableBuilderOptions, "fileNumber">> = fc.record({
  blockBytes: fc.constantFrom(1, 64, 200, 4096),
  restartInterval: fc.constantFrom(1, 2, 16),
  bitsPerKey: fc.constantFrom(0, 1, 10),
});

export const TABLE_PATH = "/db/000007.sst";
export const FILE_NUMBER = 7;

/** Builds a table of `entries` (already in table order) at TABLE_PATH on a fresh MemFileSystem. */
export function buildTable(
  entries: Entry[],
  options: Omit<TableBuilderOptions, "fileNumber"> = {},
  fs: MemFileSystem = new MemFileSystem(),
): { fs: MemFileSystem; props: TableProperties } {
  fs.mkdir("/db", { recursive: true });
  const h = fs.open(TABLE_PATH, { create: true, truncate: true });
  const b = new TableBuilder(h, { ...options, fileNumber: FILE_NUMBER });
  for (const e of entries) b.add(e.key, e.seq, e.kind, e.value);
  const props = b.finish();
  h.close();
  return { fs, props };
}

export function openTable(fs: MemFileSystem, cache?: BlockCacheLike): TableReader {
  return TableReader.open(fs, TABLE_PATH, FILE_NUMBER, cache);
}

/** A Map-backed cache that counts hits, for tests. */
export class MapCache implements BlockCacheLike {
  readonly map = new Map<string, Uint8Array>();
  hits = 0;
  get(key: string): Uint8Array | undefined {
    const b = this.map.get(key);
    if (b !== undefined) this.hits++;
    return b;
  }
  set(key: string, block: Uint8Array): void {
    this.map.set(key, block);
  }
}

/** Deterministic entries: `keys` keys, `versions` versions each, values of `valueBytes`. */
export function simpleEntries(keys: number, versions: number, valueBytes: number): Entry[] {
  const out: Entry[] = [];
  let seq = 1;
  for (let k = 0; k < keys; k++) {
    for (let v = 0; v < versions; v++) {
      const del = (k + v) % 5 === 4;
      out.push({ key: `key${String(k).padStart(5, "0")}`, seq: seq++, kind: del ? 0 : 1, value: del ? undefined : new Uint8Array(valueBytes).fill((k * 31 + v) & 255) });
    }
  }
  return sortEntries(out);
}
