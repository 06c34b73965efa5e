/**
 * The keys pass of `verifyStore` (verify.ts): NS_HISTORY and NS_HEADS are
 * both ordered by escaped user key, so one forward scan of each, merged key
 * by key, sees every key's history (newest first) beside its heads.
 *
 * Per key: every history entry names a linked record of that key whose HLC
 * is the one in the entry; every parent a version names is reached further
 * down the history (it is older: a version's timestamp is above its
 * parents'), or was pruned (the isPruned hook), else it is reported as
 * missing, pending, of another key, or out of order; the heads listed are
 * exactly the versions no other version names as parent.
 *
 * Because history runs newest first, all children of a version come before
 * it; so a version is a head exactly when no version seen before it named
 * it. The pass keeps only the key's listed heads and the parents named but
 * not reached yet (the DAG's width in a healthy store; at worst the key's
 * version count), never the whole history.
 *
 * When a key's history is itself damaged (a dangling or unreadable entry, a
 * wrong HLC), its head and order findings would be echoes of that damage, so
 * they are dropped for that key; the damage itself is reported.
 */
import { compareBytes, equalBytes, toHex } from "../encoding/bytes.ts";
import { CorruptionError } from "../errors.ts";
import type { DBIterator } from "../engine/db-iterator.ts";
import { compareHlc, formatHlc, HLC_BYTES } from "./hlc.ts";
import { decodeHeads, historyHlc, keyText, NS_HEADS, NS_HISTORY, readEscapedKey } from "./keyspace.ts";
import { RECORD_HASH_BYTES, type HlcTimestamp, type VersionRecord } from "./record.ts";
import type { StoreVerifier } from "./verify.ts";


/** One entry of a keyed namespace: the escaped key (with terminator), the user key, what follows, and the value (if read). */
interface KeyedEntry {
  esc: Uint8Array;
  key: Uint8Array;
  suffix: Uint8Array;
  value: Uint8Array;
}

/** A forward scan of a keyed namespace that can look one entry ahead; unparseable keys are reported and skipped. */
class KeyedScan {
  private readonly it: DBIterator;
  private ahead: KeyedEntry | undefined;
  private done = false;

  constructor(private readonly v: StoreVerifier, private readonly ns: number, withValues = false) { // A
    this.it = v.db.iterate({ gte: Uint8Array.of(ns), lt: Uint8Array.of(ns + 1), snapshot: v.snapshot, values: withValues });
  }

  /** The next entry without consuming it; undefined at the end (or after a damaged engine block, reported). */
  async peek(): Promise<KeyedEntry | undefined> { // PA
    // Bounded by the snapshot's entries: each turn consumes one.
    while (this.ahead === undefined && !this.done) {
      let step: IteratorResult<[Uint8Array, Uint8Array]>;
      try {
        step = await this.it.next();
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw e;
        this.v.problem("engine", `the scan of namespace 0x0${this.ns} stopped: ${e.message}`);
        this.done = true;
        break;
      }
      if (step.done === true) {
        this.done = true;
        break;
      }
      this.ahead = this.parse(step.value[0], step.value[1]);
    }
    return this.ahead;
  }

  /** Consumes the entry peek() returned. */
  take(): void { // A
    this.ahead = undefined;
  }

  close(): void { // A
    void this.it.return();
  }

  private parse(engineKey: Uint8Array, value: Uint8Array): KeyedEntry | undefined { // PA
    try {
      const { key, end } = readEscapedKey(engineKey, 1);
      return { esc: engineKey.subarray(1, end), key, suffix: engineKey.slice(end), value };
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.v.problem("malformed-key", `entry 0x${toHex(engineKey)} of namespace 0x0${this.ns}: not an escaped user key`);
      return undefined;
    }
  }
}

/** What the pass holds for the key it is on. */
interface KeyWalk {
  key: Uint8Array;
  /** Heads listed under NS_HEADS and not yet reached in the history (hex id -> id). */
  listed: Map<string, Uint8Array>;
  /** Parents named by versions seen, not reached yet: hex id -> the last (oldest) child seen naming it. */
  named: Map<string, { child: Uint8Array; hlc: HlcTimestamp }>;
  /** The key's history is damaged: drop the head and order findings (echoes of that damage). */
  unsure: boolean;
  deferred: Array<[string, string]>;
}

/** Runs the keys pass over `v`'s snapshot. */
export async function verifyKeys(v: StoreVerifier): Promise<void> { // PA
  const history = new KeyedScan(v, NS_HISTORY);
  const heads = new KeyedScan(v, NS_HEADS, true);
  try {
    // Each turn consumes at least one entry of the scan with the smaller key.
    for (;;) {
      const h = await history.peek();
      const d = await heads.peek();
      if (h === undefined && d === undefined) break;
      const first = h === undefined ? d! : d === undefined ? h : compareBytes(h.esc, d.esc) <= 0 ? h : d;
      await verifyKey(v, first.esc, first.key, history, heads);
    }
  } finally {
    history.close();
    heads.close();
  }
}

/** Checks one key: its listed heads, its history, then what was named or listed but never reached. */
async function verifyKey(v: StoreVerifier, esc: Uint8Array, key: Uint8Array, history: KeyedScan, heads: KeyedScan): Promise<void> { // PA
  v.counts.keys++;
  const walk: KeyWalk = { key, listed: new Map(), named: new Map(), unsure: false, deferred: [] };
  // One heads entry per key (keyspace.ts): its value lists the head ids.
  for (let e = await heads.peek(); e !== undefined && equalBytes(e.esc, esc); e = await heads.peek()) {
    heads.take();
    if (e.suffix.length !== 0) {
      v.problem("malformed-key", `heads entry of key ${keyText(key)}: ${e.suffix.length} bytes after the key, where there are none`);
      continue;
    }
    let ids: Uint8Array[];
    try {
      ids = decodeHeads(e.value);
    } catch (err) {
      if (!(err instanceof CorruptionError)) throw err;
      v.problem("malformed-key", `heads entry of key ${keyText(key)}: ${err.message}`);
      continue;
    }
    for (const id of ids) {
      v.counts.heads++;
      walk.listed.set(toHex(id), id);
    }
  }
  for (let e = await history.peek(); e !== undefined && equalBytes(e.esc, esc); e = await history.peek()) {
    history.take();
    v.counts.history++;
    await historyEntry(v, walk, e.suffix);
  }
  await unreachedParents(v, walk);
  await unreachedHeads(v, walk);
  if (!walk.unsure) for (const [kind, message] of walk.deferred) v.problem(kind, message);
}

/** One history entry: inverted HLC (12 bytes) then id; it must name a linked record of this key with that HLC. */
async function historyEntry(v: StoreVerifier, walk: KeyWalk, suffix: Uint8Array): Promise<void> { // PA
  const kt = keyText(walk.key);
  if (suffix.length !== HLC_BYTES + RECORD_HASH_BYTES) {
    v.problem("malformed-key", `history entry of key ${kt}: ${suffix.length} bytes after the key where an HLC and an id take ${HLC_BYTES + RECORD_HASH_BYTES}`);
    walk.unsure = true;
    return;
  }
  const id = suffix.slice(HLC_BYTES);
  let entryHlc: HlcTimestamp;
  try {
    entryHlc = historyHlc(suffix.subarray(0, HLC_BYTES));
  } catch (e) {
    if (!(e instanceof CorruptionError)) throw e;
    v.problem("history-hlc", `${where(walk.key, id)}: the history entry's timestamp is unreadable (${e.message})`);
    walk.unsure = true;
    return;
  }
  const found = await v.lookup(id);
  if (found.state !== "ok") {
    // A damaged record is reported by the records pass; a missing or pending one here.
    if (found.state !== "damaged") v.problem("history-dangling", `${where(walk.key, id)}: the history entry names a ${found.state === "missing" ? "missing" : "pending (unlinked)"} version`);
    walk.unsure = true;
    return;
  }
  const record = found.record;
  if (!equalBytes(record.key, walk.key)) {
    v.problem("history-dangling", `${where(walk.key, id)}: the history entry names a version of key ${keyText(record.key)}`);
    walk.unsure = true;
    return;
  }
  if (compareHlc(entryHlc, record.hlc) !== 0) {
    v.problem("history-hlc", `${where(walk.key, id)}: the history entry says ${formatHlc(entryHlc)}, the record ${formatHlc(record.hlc)}`);
    walk.unsure = true;
  }
  reach(walk, id, record);
}

/** A version of the key reached in history order: settle whether it is a head, and note its parents. */
function reach(walk: KeyWalk, id: Uint8Array, record: VersionRecord): void { // PA
  const hex = toHex(id);
  const here = where(walk.key, id);
  const child = walk.named.get(hex);
  if (child !== undefined) {
    walk.named.delete(hex);
    if (compareHlc(record.hlc, child.hlc) >= 0) {
      walk.deferred.push(["history-order", `${here}: its timestamp ${formatHlc(record.hlc)} is not below its child ${toHex(child.child)}'s ${formatHlc(child.hlc)}`]);
    }
  }
  const listed = walk.listed.delete(hex);
  if (child === undefined && !listed) walk.deferred.push(["head-missing", `${here}: no version names it as parent, but it is not listed as a head`]);
  if (child !== undefined && listed) walk.deferred.push(["head-extra", `${here}: listed as a head, but version ${toHex(child.child)} names it as parent`]);
  // Overwrite: the child seen last is the oldest, the one whose timestamp the parent must stay below.
  for (const p of record.parents) walk.named.set(toHex(p), { child: id, hlc: record.hlc });
}

/** Parents named in the key's history but never reached in it: pruned, or a broken link. */
async function unreachedParents(v: StoreVerifier, walk: KeyWalk): Promise<void> { // PA
  for (const [hex, { child }] of walk.named) {
    const parent = Uint8Array.from(hex.match(/../g)!, (h) => parseInt(h, 16)); // A
    const here = `${where(walk.key, child)}: parent ${hex}`;
    const found = await v.lookup(parent);
    if (found.state === "missing" && (await v.pruned(parent, walk.key))) {
      v.counts.prunedParents++;
      continue;
    }
    // A broken link makes the key's head findings echoes of it: drop them.
    walk.unsure = true;
    if (found.state === "pending") v.problem("parent-pending", `${here} is pending (not linked)`);
    else if (found.state === "missing") v.problem("parent-missing", `${here} is missing`);
    else if (found.state === "ok" && !equalBytes(found.record.key, walk.key)) v.problem("parent-other-key", `${here} is a version of key ${keyText(found.record.key)}`);
    else if (found.state === "ok") v.problem("history-order", `${here} is not in the key's history below it (no history entry, or a timestamp not below its child's)`);
    // "damaged": reported by the records pass.
  }
}

/** Heads listed for the key whose version was not reached in its history. */
async function unreachedHeads(v: StoreVerifier, walk: KeyWalk): Promise<void> { // PA
  for (const id of walk.listed.values()) {
    const here = `${where(walk.key, id)}: listed as a head`;
    const found = await v.lookup(id);
    walk.unsure = true; // the heads no longer tell which versions have children
    if (found.state === "damaged") continue; // reported by the records pass
    if (found.state !== "ok") v.problem("head-dangling", `${here}, but the version is ${found.state === "missing" ? "missing" : "pending (not linked)"}`);
    else if (!equalBytes(found.record.key, walk.key)) v.problem("head-other-key", `${here}, but it is a version of key ${keyText(found.record.key)}`);
    else v.problem("head-dangling", `${here}, but the key's history does not hold it`);
  }
}


/** "key K version ID" (the key omitted when unknown). */
export function where(key: Uint8Array | undefined, id: Uint8Array): string { // A
  return key === undefined ? `version ${toHex(id)}` : `key ${keyText(key)} version ${toHex(id)}`;
}
