/**
 * History pruning (SPEC.md 12, "Prune"). Per key, a version is kept if it
 * is a head, or one of the newest `versions`, or younger than `ageMs`, or
 * at or after the merge base of divergent heads (the newest common
 * ancestor: what a three-way merge still needs). Everything else is
 * removed: its record, its history entry and its reference to its value
 * (the value goes with its last reference). The key's prune horizon is
 * raised to the newest timestamp removed, so replication can tell a peer
 * that history at or before it no longer exists here. Held records are
 * never pruned.
 *
 * One batch per key: a crash leaves every key either pruned or not.
 * Memory: one key's history (records) at a time.
 */
import { CorruptionError, InvalidArgumentError } from "../errors.ts";
import type { DB } from "../engine/db.ts";
import { bytesToHex, sha256 } from "../platform/sha256.ts";
import { compareHlc, decodeHlc, encodeHlc, HLC_BYTES, type HlcTimestamp } from "./hlc.ts";
import { concatKey, decodeHeads, keyPrefixFor, NS_HEADS, NS_HISTORY, NS_HORIZON, NS_VERSION, prefixEnd, readEscapedKey } from "./keyspace.ts";
import { decodeVersionRecord, versionIdBytes, type VersionRecord } from "./record.ts";
import { ValueRefs } from "./value-refs.ts";

export interface PrunePolicy {
  /** Keep the newest N versions of each key (N >= 1). */
  versions?: number;
  /** Keep versions younger than this many ms (by their timestamp's physical part). */
  ageMs?: number;
}

export interface PruneReport {
  keys: number;
  versionsRemoved: number;
  valuesRemoved: number;
  versionsKept: number;
}

interface Hist {
  id: Uint8Array;
  hex: string;
  record: VersionRecord;
  historyKey: Uint8Array;
}

/** Checks a policy: at least one of versions (integer >= 1) and ageMs (>= 0). */
export function checkPolicy(p: PrunePolicy | undefined): PrunePolicy { // A
  if (p === undefined || p === null || typeof p !== "object") throw new InvalidArgumentError("prune needs a policy { versions?, ageMs? } (or the store's retention option)");
  const { versions, ageMs } = p;
  if (versions === undefined && ageMs === undefined) throw new InvalidArgumentError("a prune policy needs versions or ageMs");
  if (versions !== undefined && !(Number.isInteger(versions) && versions >= 1)) throw new InvalidArgumentError(`versions must be an integer >= 1, got ${String(versions)}`);
  if (ageMs !== undefined && !(typeof ageMs === "number" && ageMs >= 0)) throw new InvalidArgumentError(`ageMs must be a number >= 0, got ${String(ageMs)}`);
  return p;
}

/** Prunes every key by `policy` at time `nowMs`, one batch per key. */
export async function pruneAll(db: DB, policy: PrunePolicy, nowMs: number): Promise<PruneReport> { // PA
  const report: PruneReport = { keys: 0, versionsRemoved: 0, valuesRemoved: 0, versionsKept: 0 };
  let from: Uint8Array = Uint8Array.of(NS_HISTORY);
  // One key per pass: find the next key at or after `from`, prune it, continue after its entries.
  for (;;) {
    let next: Uint8Array | undefined;
    for await (const [k] of db.iterate({ gte: from, lt: Uint8Array.of(NS_HISTORY + 1), values: false, limit: 1 })) next = k;
    if (next === undefined) break;
    const { key } = readEscapedKey(next, 1);
    await pruneKey(db, key, policy, nowMs, report);
    report.keys++;
    const end = prefixEnd(keyPrefixFor(NS_HISTORY, key));
    if (end === undefined) break;
    from = end;
  }
  return report;
}

async function pruneKey(db: DB, key: Uint8Array, policy: PrunePolicy, nowMs: number, report: PruneReport): Promise<void> { // PA
  const history = await loadHistory(db, key);
  const heads = new Set<string>();
  const headsValue = await db.get(keyPrefixFor(NS_HEADS, key));
  if (headsValue !== undefined) for (const id of decodeHeads(headsValue, key)) heads.add(bytesToHex(id));
  const base = mergeBase(history, heads);
  const keep = (h: Hist, i: number): boolean => // A
    heads.has(h.hex) ||
    (policy.versions !== undefined && i < policy.versions) ||
    (policy.ageMs !== undefined && h.record.hlc.ms >= nowMs - policy.ageMs) ||
    (base !== undefined && compareHlc(h.record.hlc, base) >= 0);
  const b = db.batch();
  const refs = new ValueRefs(db, b);
  let newestRemoved: HlcTimestamp | undefined;
  for (let i = 0; i < history.length; i++) {
    const h = history[i]!;
    if (keep(h, i)) {
      report.versionsKept++;
      continue;
    }
    b.delete(concatKey(Uint8Array.of(NS_VERSION), h.id));
    b.delete(h.historyKey);
    if (!h.record.deleted) refs.remove(h.record.valueHash);
    report.versionsRemoved++;
    if (newestRemoved === undefined || compareHlc(h.record.hlc, newestRemoved) > 0) newestRemoved = h.record.hlc;
  }
  if (newestRemoved === undefined) return;
  const horizonKey = keyPrefixFor(NS_HORIZON, key);
  const old = await db.get(horizonKey);
  if (old === undefined || compareHlc(decodeHlc(old), newestRemoved) < 0) b.put(horizonKey, encodeHlc(newestRemoved));
  await db.write(b);
  report.valuesRemoved += refs.valuesDeleted;
}

/** The key's history, newest first, records checked against their ids. */
async function loadHistory(db: DB, key: Uint8Array): Promise<Hist[]> { // PA
  const prefix = keyPrefixFor(NS_HISTORY, key);
  const out: Hist[] = [];
  for await (const [k] of db.iterate({ gte: prefix, lt: prefixEnd(prefix)!, values: false })) {
    const id = k.slice(prefix.length + HLC_BYTES);
    const hex = bytesToHex(id);
    const bytes = await db.get(concatKey(Uint8Array.of(NS_VERSION), id));
    if (bytes === undefined) throw new CorruptionError(`history names version ${hex}, which is missing`);
    const record = decodeVersionRecord(bytes, { what: `version ${hex}` });
    if (bytesToHex(versionIdBytes(bytes, sha256)) !== hex) throw new CorruptionError(`version ${hex} does not hash to its id`);
    out.push({ id, hex, record, historyKey: k });
  }
  return out;
}

/**
 * The newest common ancestor of the heads (by timestamp), when there are
 * several heads; undefined when there is one, or none in common.
 */
function mergeBase(history: Hist[], heads: Set<string>): HlcTimestamp | undefined { // A
  if (heads.size < 2) return undefined;
  const byId = new Map(history.map((h) => [h.hex, h]));
  let common: Set<string> | undefined;
  for (const head of heads) {
    const anc = new Set<string>();
    const stack = [head];
    // Bounded by the key's history: each id is visited once.
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (anc.has(id)) continue;
      anc.add(id);
      for (const p of byId.get(id)?.record.parents ?? []) stack.push(bytesToHex(p));
    }
    common = common === undefined ? anc : new Set([...common].filter((x) => anc.has(x)));
  }
  let best: HlcTimestamp | undefined;
  for (const id of common ?? []) {
    const h = byId.get(id);
    if (h !== undefined && (best === undefined || compareHlc(h.record.hlc, best) > 0)) best = h.record.hlc;
  }
  // No common ancestor left: keep everything (a merge would need what is there).
  return best ?? { ms: 0, counter: 0 };
}
