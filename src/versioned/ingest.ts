/**
 * Ingest: versions made elsewhere (replication) enter the store. Each item
 * is a canonical record and, unless a tombstone, its value. Before anything
 * is written every record is decoded, hashed (its id is what it hashes
 * to), its value checked against the record's hash and size, and its
 * timestamp offered to the clock (one too far ahead rejects the whole call:
 * ClockDriftError, nothing written).
 *
 * Then, in one engine batch (SPEC.md 12, "Ingest"):
 * - a record already stored (linked or pending) is skipped: ingest is
 *   idempotent;
 * - a record whose parents are all linked is linked: stored under its id,
 *   its value under its hash, a history entry, and the key's heads become
 *   (heads - parents) + the record: heads stay exactly the versions
 *   without children whatever the arrival order;
 * - a record with a missing parent is held (NS_PENDING) with one NS_WAITING
 *   entry per missing parent; linking a record links every held record
 *   that was waiting only for it, transitively;
 * - a record at or before its key's prune horizon is skipped (history
 *   removed here on purpose), and what waited for it stops waiting for
 *   it: a held record is linked once none of its waiting entries remain, so
 *   a parent pruned here cannot keep its child held for good.
 * So the same set of records, in any order and with duplicates, gives the
 * same state.
 *
 * Memory: the call's records, plus the heads of the keys it touches.
 */
import { CorruptionError, InvalidArgumentError } from "../errors.ts";
import type { DB } from "../engine/db.ts";
import type { WriteBatch } from "../engine/write-batch.ts";
import { equalBytes } from "../encoding/bytes.ts";
import { bytesToHex, sha256 } from "../platform/sha256.ts";
import { compareHlc, decodeHlc, encodeHlc, type Hlc } from "./hlc.ts";
import { concatKey, decodeHeads, encodeHeads, historyKey, keyPrefixFor, NS_HEADS, NS_HORIZON, NS_PENDING, NS_VERSION, NS_WAITING, prefixEnd } from "./keyspace.ts";
import { ValueRefs } from "./value-refs.ts";
import { decodeVersionRecord, versionIdBytes, type VersionRecord } from "./record.ts";

/** One version from elsewhere: its canonical record bytes and its value (omitted for a tombstone). */
export interface IngestItem {
  record: Uint8Array;
  value?: Uint8Array;
  /** The id the sender claims (64 hex digits): if given, the record must hash to it (damage in transit is caught). */
  id?: string;
}

export interface IngestReport {
  /** Records linked into their key's history by this call (including held ones it released). */
  linked: number;
  /** Records at or before their key's prune horizon, not already here: history this store pruned, skipped. */
  pruned: number;
  /** Records held because a parent has not arrived. */
  held: number;
  /** Records already stored (linked or held) before. */
  duplicates: number;
}

interface Parsed {
  id: Uint8Array;
  idHex: string;
  record: VersionRecord;
  bytes: Uint8Array;
}

/** Most items one call takes (the batch is written whole). */
export const INGEST_MAX_ITEMS = 100_000;

/**
 * Checks every item, then links or holds each one in `b` (not yet written).
 * `hlc` observes every timestamp first. Reads go to `db` directly: the
 * caller serializes store writes, so nothing changes under this call.
 */
export async function ingest( // PA
  db: DB,
  hlc: Hlc,
  items: readonly IngestItem[],
  b: WriteBatch,
  metaHlcKey: Uint8Array,
  onHeadsChanged?: (entryKey: Uint8Array) => void,
): Promise<IngestReport> {
  if (!Array.isArray(items)) throw new InvalidArgumentError("applyVersions takes an array of { record, value? }");
  if (items.length > INGEST_MAX_ITEMS) throw new InvalidArgumentError(`applyVersions takes at most ${INGEST_MAX_ITEMS} items per call, got ${items.length}`);
  const parsed = items.map((item, i) => check(item, i)); // A
  // Every timestamp first: one too far ahead rejects the call before anything is written.
  let latest = hlc.last;
  for (const p of parsed) latest = hlc.observe(p.record.hlc, `version ${p.idHex}`);
  const s = new IngestState(db, b);
  const report: IngestReport = { linked: 0, pruned: 0, held: 0, duplicates: 0 };
  for (let i = 0; i < parsed.length; i++) {
    const p = parsed[i]!;
    if (await s.known(p.id)) {
      report.duplicates++;
      continue;
    }
    if (await s.belowHorizon(p.record)) {
      report.pruned++;
      s.skippedAsPruned(p.idHex);
      // It will never be linked here, so nothing may wait for it: release its waiters.
      report.linked += await s.releaseWaitersOf(p.id);
      continue;
    }
    if (!p.record.deleted) s.putValue(p.record.valueHash, items[i]!.value!);
    const missing = await s.missingParents(p.record);
    if (missing.length > 0) {
      s.hold(p, missing);
      report.held++;
      continue;
    }
    report.linked += await s.linkWithWaiting(p);
  }
  // Held records that this call released were counted as linked; they are no longer held.
  report.held = Math.max(0, report.held - s.released);
  s.writeHeads(onHeadsChanged);
  b.put(metaHlcKey, encodeHlc(latest));
  return report;
}

/** Decodes and checks one item; CorruptionError or InvalidArgumentError naming it. */
function check(item: IngestItem, i: number): Parsed { // PA
  if (item === null || typeof item !== "object" || !(item.record instanceof Uint8Array)) {
    throw new InvalidArgumentError(`item ${i}: expected { record: Uint8Array, value?: Uint8Array }`);
  }
  const record = decodeVersionRecord(item.record, { what: `item ${i}` });
  const id = versionIdBytes(item.record, sha256);
  const idHex = bytesToHex(id);
  if (item.id !== undefined && item.id !== idHex) {
    throw new CorruptionError(`item ${i}: the record does not hash to its claimed id ${String(item.id).slice(0, 64)} (it hashes to ${idHex})`);
  }
  if (record.deleted) {
    if (item.value !== undefined) throw new InvalidArgumentError(`item ${i} (version ${idHex}) is a tombstone but carries a value`);
  } else {
    const v = item.value;
    if (!(v instanceof Uint8Array)) throw new InvalidArgumentError(`item ${i} (version ${idHex}) needs its value`);
    if (v.length !== record.valueSize || !equalBytes(sha256(v), record.valueHash)) {
      throw new CorruptionError(`item ${i}: the value of version ${idHex} does not match the record's hash and size`);
    }
  }
  return { id, idHex, record, bytes: item.record };
}

/** One key's heads as the call changes them; written once at the end if changed. */
interface HeadSet {
  entryKey: Uint8Array;
  ids: Map<string, Uint8Array>;
  dirty: boolean;
}

/** What the call has decided so far, over what the engine holds. */
class IngestState {
  private readonly linked = new Map<string, VersionRecord>();
  private readonly pending = new Map<string, Parsed>();
  private readonly unpended = new Set<string>();
  /** Heads per key (hex of the heads entry's key), loaded once, then kept here. */
  private readonly heads = new Map<string, HeadSet>();
  private readonly refs: ValueRefs;
  /** Waiting entries written in this call: missing parent hex -> children. */
  private readonly waiting = new Map<string, Parsed[]>();
  /** Waiting entries this call deleted: parent hex + child hex. */
  private readonly waitingDeleted = new Set<string>();
  /** Records this call skipped as pruned: a later record of the call does not wait for them (same state in any order). */
  private readonly prunedIds = new Set<string>();
  released = 0;

  constructor(private readonly db: DB, private readonly b: WriteBatch) { // A
    this.refs = new ValueRefs(db, b);
  }

  /** Whether `id` is linked or held already. */
  async known(id: Uint8Array): Promise<boolean> { // A
    const hex = bytesToHex(id);
    if (this.linked.has(hex) || (this.pending.has(hex) && !this.unpended.has(hex))) return true;
    return (await this.isLinkedOnDisk(id)) || (!this.unpended.has(hex) && (await this.db.get(concatKey(Uint8Array.of(NS_PENDING), id))) !== undefined);
  }

  /** Whether the record is at or before its key's prune horizon (this store removed that history on purpose). */
  async belowHorizon(r: VersionRecord): Promise<boolean> { // A
    const h = await this.db.get(keyPrefixFor(NS_HORIZON, r.key));
    return h !== undefined && compareHlc(r.hlc, decodeHlc(h)) <= 0;
  }

  /** The value of a record entering the store (linked or held): one more reference. */
  putValue(hash: Uint8Array, value: Uint8Array): void { // A
    this.refs.add(hash, value);
  }

  skippedAsPruned(idHex: string): void { // A
    this.prunedIds.add(idHex);
  }

  async missingParents(r: VersionRecord): Promise<Uint8Array[]> { // A
    const out: Uint8Array[] = [];
    for (const p of r.parents) {
      const hex = bytesToHex(p);
      if (this.linked.has(hex) || this.prunedIds.has(hex)) continue;
      if (!(await this.isLinkedOnDisk(p))) out.push(p);
    }
    return out;
  }

  hold(p: Parsed, missing: Uint8Array[]): void { // A
    this.pending.set(p.idHex, p);
    this.b.put(concatKey(Uint8Array.of(NS_PENDING), p.id), p.bytes);
    for (const m of missing) {
      this.b.put(concatKey(Uint8Array.of(NS_WAITING), m, p.id), new Uint8Array(0));
      const hex = bytesToHex(m);
      const list = this.waiting.get(hex) ?? [];
      list.push(p);
      this.waiting.set(hex, list);
    }
  }

  /** Links `p`, then every held record that waited only for it (transitively); returns how many were linked. */
  async linkWithWaiting(p: Parsed): Promise<number> { // PA
    const queue: Parsed[] = [p];
    let n = 0;
    // Bounded: each record is linked once (linked ones are skipped), and held records are finite.
    while (queue.length > 0) {
      const cur = queue.shift()!;
      if (this.linked.has(cur.idHex)) continue;
      await this.link(cur);
      n++;
      for (const child of await this.stopWaiting(cur.id)) queue.push(child);
    }
    return n;
  }

  /** `id` will not be linked (pruned here): its waiters stop waiting for it, and those left waiting for nothing are linked. */
  async releaseWaitersOf(id: Uint8Array): Promise<number> { // A
    const free = await this.stopWaiting(id);
    let n = 0;
    for (const child of free) n += await this.linkWithWaiting(child);
    return n;
  }

  /** Deletes every waiting entry for `id`; returns the held records that now wait for nothing (no longer held). */
  private async stopWaiting(id: Uint8Array): Promise<Parsed[]> { // PA
    const free: Parsed[] = [];
    const idHex = bytesToHex(id);
    for (const child of await this.waitingFor(id)) {
      this.b.delete(concatKey(Uint8Array.of(NS_WAITING), id, child.id));
      this.waitingDeleted.add(idHex + child.idHex);
      if (await this.stillWaiting(child)) continue;
      this.b.delete(concatKey(Uint8Array.of(NS_PENDING), child.id));
      this.unpended.add(child.idHex);
      if (this.pending.has(child.idHex)) this.released++;
      free.push(child);
    }
    return free;
  }

  /** Whether a held record still has a waiting entry (one per parent it was held for, deleted as each arrives or is pruned). */
  private async stillWaiting(child: Parsed): Promise<boolean> { // A
    for (const parent of child.record.parents) {
      const parentHex = bytesToHex(parent);
      if (this.linked.has(parentHex) || this.waitingDeleted.has(parentHex + child.idHex)) continue;
      if ((this.waiting.get(parentHex) ?? []).some((c) => c.idHex === child.idHex)) return true; // A
      if ((await this.db.get(concatKey(Uint8Array.of(NS_WAITING), parent, child.id))) !== undefined) return true;
    }
    return false;
  }

  private async link(p: Parsed): Promise<void> { // PA
    const r = p.record;
    this.linked.set(p.idHex, r);
    this.b.put(concatKey(Uint8Array.of(NS_VERSION), p.id), p.bytes);
    this.b.put(historyKey(r.key, r.hlc, p.id), new Uint8Array(0));
    const heads = await this.headsOf(r.key);
    for (const parent of r.parents) heads.ids.delete(bytesToHex(parent));
    heads.ids.set(p.idHex, p.id);
    heads.dirty = true;
  }

  /** The held records waiting for `id`: from disk and from this call. */
  private async waitingFor(id: Uint8Array): Promise<Parsed[]> { // A
    const out = new Map<string, Parsed>();
    const idHex = bytesToHex(id);
    for (const p of this.waiting.get(idHex) ?? []) if (!this.waitingDeleted.has(idHex + p.idHex)) out.set(p.idHex, p);
    const prefix = concatKey(Uint8Array.of(NS_WAITING), id);
    for await (const [k] of this.db.iterate({ gte: prefix, lt: prefixEnd(prefix)!, values: false })) {
      const childId = k.slice(prefix.length);
      const hex = bytesToHex(childId);
      if (out.has(hex) || this.unpended.has(hex) || this.waitingDeleted.has(idHex + hex)) continue;
      const bytes = await this.db.get(concatKey(Uint8Array.of(NS_PENDING), childId));
      if (bytes === undefined) throw new CorruptionError(`waiting entry names held version ${hex}, which is missing`);
      const record = decodeVersionRecord(bytes, { what: `held version ${hex}` });
      if (!equalBytes(versionIdBytes(bytes, sha256), childId)) throw new CorruptionError(`held version ${hex} does not hash to its id`);
      out.set(hex, { id: childId, idHex: hex, record, bytes });
    }
    return [...out.values()];
  }

  /** Writes the heads of every key this call changed (one entry per key). */
  writeHeads(onChanged?: (entryKey: Uint8Array) => void): void { // A
    for (const h of this.heads.values()) {
      if (!h.dirty) continue;
      this.b.put(h.entryKey, encodeHeads([...h.ids.values()]));
      onChanged?.(h.entryKey);
    }
  }

  private async headsOf(key: Uint8Array): Promise<HeadSet> { // A
    const entryKey = keyPrefixFor(NS_HEADS, key);
    const k = bytesToHex(entryKey);
    let h = this.heads.get(k);
    if (h === undefined) {
      h = { entryKey, ids: new Map(), dirty: false };
      const value = await this.db.get(entryKey);
      if (value !== undefined) for (const id of decodeHeads(value, key)) h.ids.set(bytesToHex(id), id);
      this.heads.set(k, h);
    }
    return h;
  }

  private async isLinkedOnDisk(id: Uint8Array): Promise<boolean> { // A
    return (await this.db.get(concatKey(Uint8Array.of(NS_VERSION), id))) !== undefined;
  }
}
