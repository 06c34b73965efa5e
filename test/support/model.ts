/**
 * A plain Map model of the engine, for model and crash tests. Keys and values
 * are held as hex strings so that Map equality is exact; order is computed
 * bytewise from the bytes, independently of the engine's code.
 */
import type { DB, IterateOptions } from "../../src/index.ts";

export const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
export const unhex = (s: string): Uint8Array => new Uint8Array((s.match(/../g) ?? []).map((h) => parseInt(h, 16)));

export function compareBytes(a: Uint8Array, b: Uint8Array): number { // A
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

export type Op = { type: "put"; key: Uint8Array; value: Uint8Array } | { type: "del"; key: Uint8Array };

/** Writes ops to the database: one put or delete alone, several as one batch. */
export function submitOps(db: DB, ops: Op[], sync: boolean): Promise<void> { // A
  if (ops.length === 1) {
    const op = ops[0]!;
    return op.type === "put" ? db.put(op.key, op.value, { sync }) : db.delete(op.key, { sync });
  }
  const b = db.batch();
  for (const op of ops) op.type === "put" ? b.put(op.key, op.value) : b.delete(op.key);
  return db.write(b, { sync });
}

/** Applies ops to a Map<hexKey, hexValue>. */
export function applyOps(model: Map<string, string>, ops: Op[]): void { // A
  for (const op of ops) {
    if (op.type === "put") model.set(hex(op.key), hex(op.value));
    else model.delete(hex(op.key));
  }
}

/** The model's answer to an iterate call, as [hexKey, hexValue] pairs. */
export function modelIterate(model: Map<string, string>, o: IterateOptions): Array<[string, string]> { // A
  const b = (x: Uint8Array | string | undefined): Uint8Array | undefined => (x === undefined ? undefined : typeof x === "string" ? new TextEncoder().encode(x) : x);
  const gt = b(o.gt), gte = b(o.gte), lt = b(o.lt), lte = b(o.lte), prefix = b(o.prefix);
  let rows = [...model.entries()].map(([k, v]) => ({ k: unhex(k), kh: k, vh: v }));
  rows.sort((x, y) => compareBytes(x.k, y.k));
  rows = rows.filter(({ k }) =>
    (gt === undefined || compareBytes(k, gt) > 0) &&
    (gte === undefined || compareBytes(k, gte) >= 0) &&
    (lt === undefined || compareBytes(k, lt) < 0) &&
    (lte === undefined || compareBytes(k, lte) <= 0) &&
    (prefix === undefined || (k.length >= prefix.length && compareBytes(k.subarray(0, prefix.length), prefix) === 0)));
  if (o.reverse) rows.reverse();
  if (o.limit !== undefined) rows = rows.slice(0, o.limit);
  return rows.map((r) => [r.kh, r.vh]);
}

/** Everything the database holds, as [hexKey, hexValue] pairs in key order. */
export async function dbContents(db: DB, o: IterateOptions = {}): Promise<Array<[string, string]>> { // A
  const out: Array<[string, string]> = [];
  for await (const [k, v] of db.iterate(o)) out.push([hex(k), hex(v)]);
  return out;
}

/** Unsigned bytewise order of latin1 strings, written out instead of trusting `<`. */
export function compareLatin1(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a.charCodeAt(i) - b.charCodeAt(i);
    if (d !== 0) return d;
  }
  return a.length - b.length;
}
