/**
 * The plain model the memtable tests compare against: a Map from key to its
 * versions (newest first) and a sorted array of the keys, both kept by the
 * most obvious code possible.
 */
import fc from "fast-check";
import { KIND_DELETE, KIND_PUT, type MemEntry } from "../../../src/engine/memtable/memtable.ts";
import { compareLatin1 } from "../../support/model.ts";

export interface ModelEntry {
  seq: number;
  kind: number;
  value: Uint8Array | undefined;
}

export { compareLatin1 };

export class Model {
  readonly versions = new Map<string, ModelEntry[]>();
  readonly keys: string[] = [];

  add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void {
    let list = this.versions.get(key);
    if (list === undefined) {
      list = [];
      this.versions.set(key, list);
      this.keys.push(key);
      this.keys.sort(compareLatin1);
    }
    list.unshift({ seq, kind, value });
  }

  get(key: string, snapshotSeq: number): ModelEntry | undefined {
    return this.versions.get(key)?.find((e) => e.seq <= snapshotSeq);
  }

  /** First key >= key (or > key when strict), else undefined. */
  ceiling(key: string, strict: boolean): string | undefined {
    return this.keys.find((k) => (strict ? compareLatin1(k, key) > 0 : compareLatin1(k, key) >= 0));
  }

  /** Last key <= key (or < key when strict), else undefined. */
  floor(key: string, strict: boolean): string | undefined {
    for (let i = this.keys.length - 1; i >= 0; i--) {
      const c = compareLatin1(this.keys[i]!, key);
      if (strict ? c < 0 : c <= 0) return this.keys[i];
    }
    return undefined;
  }
}

/** Same seq, kind and bytes (or both absent). */
export function sameEntry(got: MemEntry | undefined, want: ModelEntry | undefined): boolean {
  if (got === undefined || want === undefined) return got === want;
  if (got.seq !== want.seq || got.kind !== want.kind) return false;
  if (got.value === undefined || want.value === undefined) return got.value === want.value;
  return got.value.length === want.value.length && got.value.every((b, i) => b === want.value![i]);
}

const latin1Char = fc.integer({ min: 0, max: 255 }).map((c) => String.fromCharCode(c));

/**
 * Keys that collide often (a tiny alphabet with the extreme bytes 0x00 and
 * 0xff, short) mixed with arbitrary latin1 keys, including the empty key.
 */
export const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ unit: fc.constantFrom("\u0000", "a", "b", "\u00ff"), maxLength: 4 }) },
  { weight: 1, arbitrary: fc.string({ unit: latin1Char, maxLength: 6 }) },
);

export interface AddOp {
  key: string;
  /** Added to the previous seq (>= 1, so seqs strictly increase). */
  seqGap: number;
  del: boolean;
  valueByte: number;
}

export const addOpArb: fc.Arbitrary<AddOp> = fc.record({
  key: keyArb,
  seqGap: fc.integer({ min: 1, max: 3 }),
  del: fc.boolean(),
  valueByte: fc.integer({ min: 0, max: 255 }),
});

/** Applies one op to both the memtable-like target and the model; returns the seq used. */
export function applyAdd(
  target: { add(key: string, seq: number, kind: number, value: Uint8Array | undefined): void },
  model: Model,
  op: AddOp,
  prevSeq: number,
): number {
  const seq = prevSeq + op.seqGap;
  const kind = op.del ? KIND_DELETE : KIND_PUT;
  const value = op.del ? undefined : new Uint8Array([op.valueByte, seq & 255]);
  target.add(op.key, seq, kind, value);
  model.add(op.key, seq, kind, value);
  return seq;
}
