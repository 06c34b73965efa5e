/**
 * `verifyStore`: checks a versioned store's whole keyspace (SPEC.md,
 * "Versioned store keyspace") from ONE engine snapshot and reports what is
 * wrong instead of stopping at the first problem. Damage is reported, never
 * thrown; only I/O errors (and our own assertion failures) escape.
 *
 * Five streaming passes, each an engine scan of one namespace plus point
 * reads at the same snapshot:
 *   values   every NS_VALUE entry hashes to its key (content addressing)
 *            and has a reference count;
 *   records  every NS_VERSION record decodes and hashes to its id; a live
 *            record's value exists with its size and hash; the record has its
 *            history entry (computed from its key, HLC and id: exactly one);
 *   refs     every NS_VALUE_REFS count equals the versions using the value
 *            (verify-refs.ts, in partitions of bounded size);
 *   keys     NS_HISTORY and NS_HEADS merged key by key (verify-keys.ts):
 *            history entries name records of that key with that HLC, parent
 *            links resolve (or were pruned), heads = versions without children;
 *   pending  every NS_PENDING record decodes, hashes to its id, is not also
 *            linked, has its value, and has an NS_WAITING entry for each
 *            parent not linked (or pruned: ingest stops waiting for those),
 *            and at least one;
 *   waiting  every NS_WAITING entry names a pending child that has that
 *            parent, and the parent is still not linked.
 * Plus the clock: the persisted high-water mark (meta "h") is at or above
 * every timestamp of a version this node (meta "n") wrote; and every prune
 * horizon (NS_HORIZON) is a readable timestamp. A parent missing from a key
 * that has a horizon counts as pruned (the `isPruned` option overrides).
 *
 * Memory: the passes hold no per-record state; the keys pass holds one key's
 * head set and the parents it has seen named but not yet reached (in a
 * healthy store the width of that key's DAG, at worst its version count);
 * the set of bad value hashes is capped (past the cap values are re-hashed
 * per record instead); the problem list keeps the first `maxProblems`.
 *
 * Cost sketch: per record one scan step, a decode, a SHA-256 of ~100 bytes,
 * and two point reads (value, history entry); per history entry one point
 * read, a decode and a hash; each value hashed once (native ~1.4 GB/s).
 */
import { CorruptionError, InvalidArgumentError } from "../errors.ts";
import type { DB } from "../engine/db.ts";
import type { Snapshot } from "../engine/snapshot.ts";
import { equalBytes, toHex } from "../encoding/bytes.ts";
import { compareHlc, decodeHlc, formatHlc, HLC_BYTES } from "./hlc.ts";
import { concatKey, historyKey, keyPrefixFor, keyText, NS_HISTORY, NS_HORIZON, NS_META, NS_PENDING, NS_VALUE, NS_VALUE_REFS, NS_VERSION, NS_WAITING, readEscapedKey } from "./keyspace.ts";
import { decodeVersionRecord, RECORD_HASH_BYTES, versionIdBytes, type HlcTimestamp, type VersionRecord } from "./record.ts";
import { verifyKeys, where } from "./verify-keys.ts";
import { verifyValueRefs } from "./verify-refs.ts";

/** SHA-256 as the platform gives it (src/platform/sha256.ts). */
export type Sha256Fn = (data: Uint8Array) => Uint8Array;
/** A point read of an engine key at the verify's snapshot. */
export type SnapshotRead = (engineKey: Uint8Array) => Promise<Uint8Array | undefined>;
/**
 * Whether a missing parent `id` of a version of `key` was removed on purpose
 * (pruned history). `read` reads the store at the verify's snapshot, so a
 * prune horizon kept in the keyspace can be consulted consistently.
 */
export type PrunedCheck = (id: Uint8Array, key: Uint8Array, read: SnapshotRead) => boolean | Promise<boolean>;

export interface StoreVerifyOptions {
  /** Problems kept in the report's `problems` (all are counted); default 100. */
  maxProblems?: number;
  /**
   * Whether a missing parent was pruned: accepted ones are counted in
   * `prunedParents`, not reported. Default: the key has a prune horizon
   * (NS_HORIZON), i.e. prune removed some of its history.
   */
  isPruned?: PrunedCheck;
}

export interface StoreVerifyReport {
  /** True when no problem was found. */
  ok: boolean;
  /** Linked version records (NS_VERSION entries). */
  records: number;
  /** Distinct stored values (NS_VALUE entries). */
  values: number;
  /** Reference count entries (NS_VALUE_REFS). */
  valueRefs: number;
  /** User keys with history or heads. */
  keys: number;
  heads: number;
  /** History entries (NS_HISTORY). */
  history: number;
  /** Ingested records waiting for parents (NS_PENDING entries). */
  pending: number;
  /** What pending records wait for (NS_WAITING entries). */
  waiting: number;
  /** Parent links to versions that were pruned (see `isPruned`). */
  prunedParents: number;
  /** Keys with a prune horizon (NS_HORIZON entries). */
  horizons: number;
  /** Every problem found (the list below keeps only the first ones). */
  problemCount: number;
  /** Problems by kind, e.g. { "record-hash": 1 }; all of them, not only the listed ones. */
  problemKinds: Record<string, number>;
  /** The first `maxProblems` problems, each naming the key (printable or 0x hex) and version id. */
  problems: string[];
}

export const STORE_VERIFY_MAX_PROBLEMS_DEFAULT = 100;
/** Bad value hashes remembered from the values pass; past this, records re-hash their values. */
const BAD_VALUES_MAX = 4096;
/** Meta entries (SPEC.md section 12): this store's node id, and the highest HLC timestamp it issued. */
const META_NODE = Uint8Array.from([NS_META, 0x6e]);
const META_HLC = Uint8Array.from([NS_META, 0x68]);

/** What a point read of a version id found. */
export type Lookup =
  | { state: "ok"; record: VersionRecord }
  | { state: "missing" }
  | { state: "pending" }
  | { state: "damaged" };

/** Marks a point read the engine could not serve (already reported). */
export const UNREADABLE: unique symbol = Symbol("unreadable");

/**
 * Verifies the store kept in `db` (see the module comment). Reads from one
 * snapshot, so it may run beside writers. Never throws on damage; throws
 * on I/O errors and on a closed database.
 */
export async function verifyStore(db: DB, sha256: Sha256Fn, options: StoreVerifyOptions = {}): Promise<StoreVerifyReport> { // PA
  const max = options.maxProblems ?? STORE_VERIFY_MAX_PROBLEMS_DEFAULT;
  if (!Number.isInteger(max) || max < 0) throw new InvalidArgumentError(`maxProblems must be an integer >= 0, got ${String(max)}`);
  const snapshot = db.snapshot();
  try {
    const v = new StoreVerifier(db, snapshot, sha256, max, options.isPruned);
    await v.readMeta();
    await v.scan(NS_VALUE, true, (k, value) => v.checkValue(k, value)); // A
    await v.scan(NS_VERSION, true, (k, bytes) => v.checkRecord(k, bytes)); // A
    v.checkClock();
    await verifyValueRefs(v, v.counts.values);
    await verifyKeys(v);
    await v.scan(NS_PENDING, true, (k, bytes) => v.checkPending(k, bytes)); // A
    await v.scan(NS_WAITING, false, (k) => v.checkWaiting(k)); // A
    await v.scan(NS_HORIZON, true, (k, h) => v.checkHorizon(k, h)); // A
    return v.report();
  } finally {
    snapshot.release();
  }
}

/** The state of one verify run; the passes are its methods (verify-keys.ts drives the keys pass). */
export class StoreVerifier {
  readonly counts = { records: 0, values: 0, valueRefs: 0, keys: 0, heads: 0, history: 0, pending: 0, waiting: 0, prunedParents: 0, horizons: 0 };
  private readonly problems: string[] = [];
  private readonly kinds: Record<string, number> = {};
  private problemCount = 0;
  private readonly badValues = new Set<string>();
  private badValuesOverflow = false;
  /** This store's node id and persisted clock high-water mark (from the meta entries), if readable. */
  private nodeId: string | undefined;
  private clockMark: HlcTimestamp | undefined;
  /** The newest timestamp among the versions this node wrote. */
  private newestOwn: { hlc: HlcTimestamp; id: Uint8Array; key: Uint8Array } | undefined;

  constructor( // A
    readonly db: DB,
    readonly snapshot: Snapshot,
    private readonly sha256: Sha256Fn,
    private readonly maxProblems: number,
    private readonly isPruned: PrunedCheck | undefined,
  ) {}

  /** Records a problem of `kind`; the message names key and id. */
  problem(kind: string, message: string): void { // A
    this.problemCount++;
    this.kinds[kind] = (this.kinds[kind] ?? 0) + 1;
    if (this.problems.length < this.maxProblems) this.problems.push(`${kind}: ${message}`);
  }

  report(): StoreVerifyReport { // A
    return { ok: this.problemCount === 0, ...this.counts, problemCount: this.problemCount, problemKinds: { ...this.kinds }, problems: [...this.problems] };
  }

  /** A point read at the snapshot; UNREADABLE (reported) if the engine finds its bytes damaged. */
  async get(engineKey: Uint8Array, what: string): Promise<Uint8Array | undefined | typeof UNREADABLE> { // A
    try {
      return await this.db.get(engineKey, { snapshot: this.snapshot });
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.problem("engine", `${what}: ${e.message}`);
      return UNREADABLE;
    }
  }

  /**
   * Visits every entry of namespace `ns` in engine order. A damaged engine
   * block ends the scan (reported); the other passes still run. Bounded by
   * the snapshot's entries.
   */
  scan(ns: number, values: boolean, visit: (k: Uint8Array, v: Uint8Array) => Promise<void> | void): Promise<void> { // A
    return this.scanRange(Uint8Array.of(ns), Uint8Array.of(ns + 1), visit, values);
  }

  /** As scan, over the engine keys in [gte, lt). */
  async scanRange(gte: Uint8Array, lt: Uint8Array, visit: (k: Uint8Array, v: Uint8Array) => Promise<void> | void, values = true): Promise<void> { // A
    const it = this.db.iterate({ gte, lt, snapshot: this.snapshot, values });
    try {
      for await (const [k, v] of it) await visit(k, v);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.problem("engine", `the scan from 0x${toHex(gte)} stopped: ${e.message}`);
    }
  }

  /** The record stored under `id`: decoded and checked to hash to it, or why not. */
  async lookup(id: Uint8Array): Promise<Lookup> { // PA
    const bytes = await this.get(concatKey(Uint8Array.of(NS_VERSION), id), `version ${toHex(id)}`);
    if (bytes === UNREADABLE) return { state: "damaged" };
    if (bytes === undefined) {
      const pending = await this.get(concatKey(Uint8Array.of(NS_PENDING), id), `pending version ${toHex(id)}`);
      if (pending === UNREADABLE) return { state: "damaged" };
      return pending === undefined ? { state: "missing" } : { state: "pending" };
    }
    const record = this.decode(bytes, id);
    return record === undefined ? { state: "damaged" } : { state: "ok", record };
  }

  /** `bytes` decoded if they are a canonical record hashing to `id`; undefined otherwise (not reported). */
  decode(bytes: Uint8Array, id: Uint8Array): VersionRecord | undefined { // PA
    try {
      const record = decodeVersionRecord(bytes);
      return equalBytes(versionIdBytes(bytes, this.sha256), id) ? record : undefined;
    } catch (e) {
      if (e instanceof CorruptionError) return undefined;
      throw e;
    }
  }

  /** Whether a missing parent of a version of `key` was pruned (the isPruned option, or: the key has a prune horizon). */
  async pruned(id: Uint8Array, key: Uint8Array): Promise<boolean> { // A
    const read: SnapshotRead = (k) => this.db.get(k, { snapshot: this.snapshot }); // A
    if (this.isPruned !== undefined) return (await this.isPruned(id, key, read)) === true;
    return (await read(keyPrefixFor(NS_HORIZON, key))) !== undefined;
  }

  /** Horizon pass: each NS_HORIZON entry is an escaped key and a readable timestamp. */
  checkHorizon(k: Uint8Array, h: Uint8Array): void { // PA
    this.counts.horizons++;
    try {
      const { key, end } = readEscapedKey(k, 1);
      if (end !== k.length) throw new CorruptionError(`${k.length - end} bytes after the key`);
      try {
        if (h.length !== HLC_BYTES) throw new CorruptionError(`${h.length} bytes where a timestamp has ${HLC_BYTES}`);
        decodeHlc(h);
      } catch (e) {
        if (!(e instanceof CorruptionError)) throw e;
        this.problem("horizon-unreadable", `key ${keyText(key)}: its prune horizon is unreadable: ${e.message}`);
      }
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.problem("malformed-key", `horizon entry 0x${toHex(k)}: ${e.message}`);
    }
  }

  /** Reads the node id and the clock's high-water mark; a damaged mark is a problem. */
  async readMeta(): Promise<void> { // PA
    const node = await this.get(META_NODE, "the node id");
    if (node instanceof Uint8Array) this.nodeId = new TextDecoder("utf-8").decode(node);
    const mark = await this.get(META_HLC, "the clock's high-water mark");
    if (!(mark instanceof Uint8Array)) return;
    try {
      if (mark.length !== HLC_BYTES) throw new CorruptionError(`${mark.length} bytes where a timestamp has ${HLC_BYTES}`);
      this.clockMark = decodeHlc(mark);
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.problem("clock-unreadable", `the clock's high-water mark is unreadable: ${e.message}`);
    }
  }

  /**
   * The persisted high-water mark must be at or above every timestamp this
   * node issued (each put writes both in one batch); else a restarted clock
   * could issue a timestamp again.
   */
  checkClock(): void { // PA
    const own = this.newestOwn;
    if (own === undefined) return;
    if (this.clockMark === undefined || compareHlc(this.clockMark, own.hlc) < 0) {
      const mark = this.clockMark === undefined ? "missing" : formatHlc(this.clockMark);
      this.problem("clock-behind", `${where(own.key, own.id)}: written by this node at ${formatHlc(own.hlc)}, above the clock's high-water mark (${mark})`);
    }
  }

  /** Values pass: content addressing, each value hashed once. */
  async checkValue(k: Uint8Array, value: Uint8Array): Promise<void> { // PA
    this.counts.values++;
    const hash = k.subarray(1);
    if (hash.length !== RECORD_HASH_BYTES) {
      this.problem("malformed-key", `value entry 0x${toHex(k)}: the key is not a ${RECORD_HASH_BYTES}-byte hash`);
      return;
    }
    if (!equalBytes(this.sha256(value), hash)) {
      this.problem("value-hash", `value ${toHex(hash)} (${value.length} bytes) does not hash to its key`);
      if (this.badValues.size < BAD_VALUES_MAX) this.badValues.add(toHex(hash));
      else this.badValuesOverflow = true;
    }
    const refs = await this.get(concatKey(Uint8Array.of(NS_VALUE_REFS), hash), `reference count of value ${toHex(hash)}`);
    if (refs === undefined) this.problem("value-refs-missing", `value ${toHex(hash)} has no reference count (prune could never free it)`);
  }

  /** Records pass: hash, value and history entry of one linked record. */
  async checkRecord(k: Uint8Array, bytes: Uint8Array): Promise<void> { // PA
    this.counts.records++;
    const id = k.slice(1);
    if (id.length !== RECORD_HASH_BYTES) {
      this.problem("malformed-key", `version entry 0x${toHex(k)}: the key is not a ${RECORD_HASH_BYTES}-byte id`);
      return;
    }
    const record = this.decodeReporting(bytes, id, "record");
    if (record === undefined) return;
    if (record.node === this.nodeId && (this.newestOwn === undefined || compareHlc(record.hlc, this.newestOwn.hlc) > 0)) {
      this.newestOwn = { hlc: record.hlc, id, key: record.key };
    }
    if (!record.deleted) await this.checkRecordValue(record, id);
    const historyEntry = historyKey(record.key, record.hlc, id);
    const entry = await this.get(historyEntry, `history entry of ${where(record.key, id)}`);
    if (entry === undefined) this.problem("history-missing", `${where(record.key, id)}: the version has no history entry`);
  }

  /** Decodes and hash-checks a stored record, reporting `${prefix}-unreadable` / `${prefix}-hash`. */
  private decodeReporting(bytes: Uint8Array, id: Uint8Array, prefix: string): VersionRecord | undefined { // PA
    let record: VersionRecord;
    try {
      record = decodeVersionRecord(bytes, { what: "the record does not decode" });
    } catch (e) {
      if (!(e instanceof CorruptionError)) throw e;
      this.problem(`${prefix}-unreadable`, `${where(undefined, id)}: ${e.message}`);
      return undefined;
    }
    if (!equalBytes(versionIdBytes(bytes, this.sha256), id)) {
      this.problem(`${prefix}-hash`, `${where(record.key, id)}: the record does not hash to its id`);
      return undefined;
    }
    return record;
  }

  /** A live record's value: present, of its size, and (from the values pass) matching its hash. */
  private async checkRecordValue(record: VersionRecord, id: Uint8Array): Promise<void> { // PA
    const here = where(record.key, id);
    const value = await this.get(concatKey(Uint8Array.of(NS_VALUE), record.valueHash), `value of ${here}`);
    if (value === UNREADABLE) return;
    if (value === undefined) {
      this.problem("record-value-missing", `${here}: its value ${toHex(record.valueHash)} is missing`);
      return;
    }
    if (value.length !== record.valueSize) {
      this.problem("record-value-size", `${here}: its value has ${value.length} bytes, the record says ${record.valueSize}`);
      return;
    }
    const bad = this.badValues.has(toHex(record.valueHash)) || (this.badValuesOverflow && !equalBytes(this.sha256(value), record.valueHash));
    if (bad) this.problem("record-value-hash", `${here}: its value does not match its hash ${toHex(record.valueHash)}`);
  }

  /** Pending pass: one ingested record whose parents have not all arrived. */
  async checkPending(k: Uint8Array, bytes: Uint8Array): Promise<void> { // PA
    this.counts.pending++;
    const id = k.slice(1);
    if (id.length !== RECORD_HASH_BYTES) {
      this.problem("malformed-key", `pending entry 0x${toHex(k)}: the key is not a ${RECORD_HASH_BYTES}-byte id`);
      return;
    }
    const record = this.decodeReporting(bytes, id, "pending");
    if (record === undefined) return;
    const here = where(record.key, id);
    const linked = await this.get(concatKey(Uint8Array.of(NS_VERSION), id), here);
    if (linked !== undefined && linked !== UNREADABLE) this.problem("pending-linked", `${here}: the version is both pending and linked`);
    if (!record.deleted) await this.checkRecordValue(record, id);
    let missing = 0;
    for (const p of record.parents) {
      const parent = await this.get(concatKey(Uint8Array.of(NS_VERSION), p), `parent ${toHex(p)} of ${here}`);
      if (parent !== undefined) continue;
      const waiting = await this.get(concatKey(Uint8Array.of(NS_WAITING), p, id), `waiting entry of ${here}`);
      if (waiting !== undefined) {
        missing++;
        continue;
      }
      // Ingest stops waiting for a parent that arrived at or before the key's prune horizon.
      if (await this.pruned(p, record.key)) continue;
      missing++;
      this.problem("pending-waiting", `${here}: parent ${toHex(p)} has not arrived, but no waiting entry says so`);
    }
    if (missing === 0) this.problem("pending-ready", `${here}: every parent is linked, yet the version is still pending`);
  }

  /** Waiting pass: (missing parent, pending child) entries must match the pending records. */
  async checkWaiting(k: Uint8Array): Promise<void> { // PA
    this.counts.waiting++;
    if (k.length !== 1 + 2 * RECORD_HASH_BYTES) {
      this.problem("malformed-key", `waiting entry 0x${toHex(k)}: the key is not a parent id and a child id`);
      return;
    }
    const parent = k.slice(1, 1 + RECORD_HASH_BYTES);
    const child = k.slice(1 + RECORD_HASH_BYTES);
    const what = `waiting entry (version ${toHex(child)} waits for ${toHex(parent)})`;
    const bytes = await this.get(concatKey(Uint8Array.of(NS_PENDING), child), what);
    if (bytes === UNREADABLE) return;
    if (bytes === undefined) {
      this.problem("waiting-dangling", `${what}: the child is not pending`);
      return;
    }
    const record = this.decode(bytes, child);
    if (record === undefined) return; // reported by the pending pass
    if (!record.parents.some((p) => equalBytes(p, parent))) { // A
      this.problem("waiting-dangling", `${where(record.key, child)}: waits for ${toHex(parent)}, which is not one of its parents`);
    }
    const linked = await this.get(concatKey(Uint8Array.of(NS_VERSION), parent), what);
    if (linked !== undefined && linked !== UNREADABLE) {
      this.problem("waiting-stale", `${where(record.key, child)}: still waits for parent ${toHex(parent)}, which is linked`);
    }
  }
}
