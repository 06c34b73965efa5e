/**
 * `Store`: every value keeps its full history (SPEC.md, "Versioned store");
 * opened by `openStore` (open-store.ts). Built on the engine's public API
 * only: atomic batches, synchronous point reads, snapshots for streams.
 *
 * A put reads the key's heads, makes a version record whose parents are
 * those heads (hybrid logical clock, node id, value hash and size), and
 * writes: the record under its id, the value under its hash (once per
 * distinct content), the new head in place of its parents, a history
 * entry, and the clock's high-water mark. Writes go through one lane
 * (writer.ts), so two puts of one key never read the same heads; puts made
 * while a write is under way share the next engine batch.
 *
 * Every read checks what it reads: a record must hash to its id, a value
 * to its hash; otherwise CorruptionError naming the key and the version.
 * Point reads (get, entry, heads, version) make their engine reads
 * synchronously, in one turn, so no write can land between them: they see
 * one moment without the cost of a snapshot. Streams (history, keys,
 * records) read across turns and hold a snapshot.
 *
 * Cost sketch: a get is three synchronous engine gets (heads, record,
 * value) and two SHA-256 (the ~100-byte record and the value: native
 * ~1.4 GB/s), or, when the key's heads are in the read cache
 * (head-cache.ts), one engine get and one SHA-256 (of the value); a put is
 * sketched in writer.ts.
 */
import { ClosedError, CorruptionError, InvalidArgumentError } from "../errors.ts";
import type { DB } from "../engine/db.ts";
import type { Snapshot } from "../engine/snapshot.ts";
import { toBytes } from "../engine/write-batch.ts";
import type { Clock } from "../platform/clock.ts";
import { bytesToLatin1, equalBytes } from "../encoding/bytes.ts";
import { packHeads, unpackHeads, type HeadCache } from "./head-cache.ts";
import { bytesToHex, sha256 } from "../platform/sha256.ts";
import { decodeHlc, formatHlc, HLC_BYTES, parseHlc, type Hlc } from "./hlc.ts";
import { concatKey, decodeHeads, keyPrefixFor, keyText, META_HLC_KEY, NS_HEADS, NS_HISTORY, NS_HORIZON, NS_VALUE, NS_VERSION, prefixEnd, readEscapedKey } from "./keyspace.ts";
import { decodeVersionRecord, versionIdBytes, type VersionRecord } from "./record.ts";
import { hashFromHex, recordToVersion, type Version } from "./record-version.ts";
import { ingest, INGEST_MAX_ITEMS, type IngestItem, type IngestReport } from "./ingest.ts";
import { StoreWriter } from "./writer.ts";
import { checkPolicy, pruneAll, type PrunePolicy, type PruneReport } from "./prune.ts";

export type { PrunePolicy, PruneReport } from "./prune.ts";
import { verifyStore, type StoreVerifyOptions, type StoreVerifyReport } from "./verify.ts";

export type { StoreVerifyOptions, StoreVerifyReport } from "./verify.ts";

export type { IngestItem, IngestReport } from "./ingest.ts";

export type { Version } from "./record-version.ts";

/**
 * Largest user key: the engine's key limit (65,535 bytes) less the
 * keyspace's worst case (every byte 0x00 escaped to two, a namespace byte,
 * the terminator and a 44-byte suffix).
 */
export const STORE_MAX_KEY_BYTES = 32_000;

export interface Entry {
  value?: Uint8Array;
  version: Version;
  /** The other heads, when the key has diverged (resolved by the merge layer). */
  conflicts: Version[];
}

/** A head with its checked record and the record's canonical bytes. */
interface HeadRecord {
  id: Uint8Array;
  record: VersionRecord;
  bytes: Uint8Array;
}

const ID_BYTES = 32;

export class Store {
  private readonly writer: StoreWriter;
  private closed = false;
  private closing: Promise<void> | undefined;

  /** Use `openStore`. */
  constructor( // A
    private readonly db: DB,
    readonly nodeId: string,
    private readonly hlc: Hlc,
    private readonly clock: Clock,
    private readonly retention: PrunePolicy | undefined,
    private readonly cache: HeadCache,
  ) {
    this.writer = new StoreWriter(db, hlc, nodeId, META_HLC_KEY, cache);
  }

  /** Writes a new version of `key` whose parents are the current heads. */
  put(key: Uint8Array | string, value: Uint8Array | string): Promise<Version> { // A
    try {
      // Copied now: the write runs later (behind the lane), and the caller may reuse its buffers.
      const k = storeKey(key).slice();
      const v = toBytes(value, "value").slice();
      this.checkOpen();
      return this.writer.write(k, v);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Writes a tombstone version of `key`; its history stays readable. */
  delete(key: Uint8Array | string): Promise<Version> { // A
    try {
      const k = storeKey(key).slice();
      this.checkOpen();
      return this.writer.write(k, undefined);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The current value: the head with the greatest (hlc, id), or undefined if that head is a tombstone or there is none. */
  async get(key: Uint8Array | string): Promise<Uint8Array | undefined> { // A
    const k = toBytes(key, "key");
    this.checkOpen();
    const win = this.currentHeads(k, 1)[0];
    return win === undefined || win.record.deleted ? undefined : this.valueOf(win.record, win.id, undefined);
  }

  /** The winning head with its value, and the other heads as conflicts; undefined for a key never written. */
  async entry(key: Uint8Array | string): Promise<Entry | undefined> { // A
    const k = toBytes(key, "key");
    this.checkOpen();
    const heads = this.currentHeads(k);
    if (heads.length === 0) return undefined;
    const [win, ...rest] = heads;
    const value = win!.record.deleted ? undefined : this.valueOf(win!.record, win!.id, undefined);
    const entry: Entry = { version: recordToVersion(win!.record, win!.id), conflicts: rest.map((h) => recordToVersion(h.record, h.id)) }; // A
    if (value !== undefined) entry.value = value;
    return entry;
  }

  /** The key's heads, winner first (greatest (hlc, id)). */
  async heads(key: Uint8Array | string): Promise<Version[]> { // A
    const k = toBytes(key, "key");
    this.checkOpen();
    return this.currentHeads(k).map((h) => recordToVersion(h.record, h.id)); // A
  }

  /** The version with id `id` (64 hex digits) and its value, or undefined. */
  async version(id: string): Promise<{ version: Version; value?: Uint8Array } | undefined> { // A
    const idBytes = hashFromHex(id);
    this.checkOpen();
    const record = this.recordOf(idBytes, undefined);
    if (record === undefined) return undefined;
    const out: { version: Version; value?: Uint8Array } = { version: recordToVersion(record, idBytes) };
    if (!record.deleted) out.value = this.valueOf(record, idBytes, undefined);
    return out;
  }

  /**
   * Every version of `key`, newest first (descending HLC, and ascending id
   * among equal HLCs; a version's timestamp is above its parents', so this
   * order is topological),
   * streamed from one snapshot in bounded memory.
   */
  async *history(key: Uint8Array | string, options: { limit?: number } = {}): AsyncGenerator<Version> { // A
    this.checkOpen();
    const k = toBytes(key, "key");
    const limit = options.limit ?? Number.POSITIVE_INFINITY;
    if (typeof limit !== "number" || !(limit >= 0)) throw new InvalidArgumentError(`limit must be a number >= 0, got ${String(limit)}`);
    const snapshot = this.db.snapshot();
    try {
      const prefix = keyPrefixFor(NS_HISTORY, k);
      let n = 0;
      for await (const [engineKey] of this.db.iterate({ ...prefixRange(prefix), snapshot, values: false })) {
        if (n >= limit) break;
        const id = engineKey.slice(prefix.length + HLC_BYTES);
        if (id.length !== ID_BYTES) throw new CorruptionError(`history entry of key ${keyText(k)} has a ${id.length}-byte id`);
        const record = this.recordOf(id, snapshot);
        if (record === undefined) throw new CorruptionError(`history of key ${keyText(k)} names version ${bytesToHex(id)}, which is missing`);
        n++;
        yield recordToVersion(record, id);
      }
    } finally {
      snapshot.release();
    }
  }

  /**
   * The value of `key` as it was: at version `at.version` (which must be a
   * version of this key), or at time `at.time` (ms since the epoch: the
   * newest version whose timestamp is at or before it). Undefined where the
   * key did not exist or was deleted.
   */
  async getAt(key: Uint8Array | string, at: { version?: string; time?: number }): Promise<Uint8Array | undefined> { // A
    const k = toBytes(key, "key");
    if (at === null || typeof at !== "object" || (at.version === undefined) === (at.time === undefined)) {
      throw new InvalidArgumentError("getAt needs exactly one of { version } or { time }");
    }
    if (at.version !== undefined) {
      const v = await this.version(at.version);
      if (v === undefined) return undefined;
      if (!equalBytes(v.version.key, k)) throw new InvalidArgumentError(`version ${at.version} is not a version of key ${keyText(k)}`);
      return v.value;
    }
    const time = at.time!;
    if (typeof time !== "number" || !Number.isFinite(time)) throw new InvalidArgumentError(`time must be a finite number of ms, got ${String(time)}`);
    // The newest versions at or before `time` share one HLC; of those the greatest id wins, as in `get`
    // (history lists equal HLCs by ascending id). That version is the winning head of the key as it was
    // then: every version after it has a greater timestamp, so none of them was its child yet.
    let best: Version | undefined;
    for await (const v of this.history(k)) {
      if (parseHlc(v.hlc).ms > time) continue;
      if (best !== undefined && v.hlc !== best.hlc) break;
      if (best === undefined || v.id > best.id) best = v;
    }
    if (best === undefined || best.deleted) return undefined;
    return (await this.version(best.id))?.value;
  }

  /** Keys whose current value exists (winner not a tombstone), in bytewise order, within the range. */
  async *keys(range: { gte?: Uint8Array | string; lt?: Uint8Array | string } = {}): AsyncGenerator<Uint8Array> { // A
    this.checkOpen();
    const snapshot = this.db.snapshot();
    try {
      const lower = range.gte === undefined ? Uint8Array.of(NS_HEADS) : keyPrefixFor(NS_HEADS, toBytes(range.gte, "key"));
      const upper = range.lt === undefined ? Uint8Array.of(NS_HEADS + 1) : keyPrefixFor(NS_HEADS, toBytes(range.lt, "key"));
      let last: Uint8Array | undefined;
      for await (const [engineKey] of this.db.iterate({ gte: lower, lt: upper, snapshot, values: false })) {
        const { key } = readEscapedKey(engineKey, 1);
        if (last !== undefined && equalBytes(last, key)) continue;
        last = key;
        const heads = this.headRecords(key, snapshot);
        if (heads.length > 0 && !heads[0]!.record.deleted) yield key;
      }
    } finally {
      snapshot.release();
    }
  }

  /**
   * Takes versions made elsewhere (replication): every record's hash, value
   * and timestamp are checked before anything is written; records already
   * here are skipped; a record whose parents have not arrived is held and
   * linked when they come. One atomic batch (ingest.ts).
   */
  applyVersions(items: readonly IngestItem[]): Promise<IngestReport> { // A
    if (this.closed) return Promise.reject(new ClosedError("store"));
    // Copied now, like a put's key and value: the call runs later, behind the lane.
    const mine = Array.isArray(items) && items.length <= INGEST_MAX_ITEMS ? items.map(copyItem) : items;
    return this.writer.exclusive(async () => { // A
      const b = this.db.batch();
      const changed: Uint8Array[] = [];
      const report = await ingest(this.db, this.hlc, mine, b, META_HLC_KEY, (entryKey) => changed.push(entryKey)); // A
      const keys = changed.map(bytesToLatin1);
      this.cache.beginWrite(keys);
      try {
        if (b.length > 0) await this.db.write(b);
      } finally {
        this.cache.endWrite(keys);
      }
      return report;
    });
  }

  /**
   * Removes old history by `policy` (default: the `retention` option),
   * always keeping heads and what a merge of divergent heads needs (prune.ts).
   */
  prune(policy?: PrunePolicy): Promise<PruneReport> { // A
    try {
      const p = checkPolicy(policy ?? this.retention);
      this.checkOpen();
      return this.writer.exclusive(() => pruneAll(this.db, p, this.clock.nowMs()).finally(() => this.cache.clear())); // A
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** The newest timestamp `prune` removed from `key`'s history (history at or before it may be gone), or undefined. */
  async horizon(key: Uint8Array | string): Promise<string | undefined> { // A
    this.checkOpen();
    const h = await this.db.get(keyPrefixFor(NS_HORIZON, toBytes(key, "key")));
    return h === undefined ? undefined : formatHlc(decodeHlc(h));
  }

  /** Checks every record, value, reference count, link, head and history entry from one snapshot (verify.ts); damage is reported, not thrown. */
  async verify(options?: StoreVerifyOptions): Promise<StoreVerifyReport> { // A
    this.checkOpen();
    return verifyStore(this.db, sha256, options);
  }

  /** Every linked version as an ingest item (record bytes and value), in id order, from one snapshot, streamed. */
  async *records(): AsyncGenerator<IngestItem> { // A
    this.checkOpen();
    const snapshot = this.db.snapshot();
    try {
      for await (const [engineKey, bytes] of this.db.iterate({ gte: Uint8Array.of(NS_VERSION), lt: Uint8Array.of(NS_VERSION + 1), snapshot })) {
        const id = engineKey.slice(1);
        const record = checkedRecord(id, bytes);
        const idHex = bytesToHex(id);
        yield record.deleted ? { record: bytes, id: idHex } : { record: bytes, id: idHex, value: this.valueOf(record, id, snapshot) };
      }
    } finally {
      snapshot.release();
    }
  }

  /** Waits for every queued write, then closes the engine; every call returns the same promise. */
  close(): Promise<void> { // A
    this.closed = true;
    this.closing ??= this.writer.idle().then(() => this.db.close()); // A
    return this.closing;
  }

  /**
   * The key's first `limit` heads now (not at a snapshot), winner first: from
   * the read cache (records checked when loaded, decoded again here so nothing
   * returned shares the cache's memory), else read, checked and cached.
   */
  private currentHeads(key: Uint8Array, limit = Number.POSITIVE_INFINITY): HeadRecord[] { // A
    const entryKey = bytesToLatin1(keyPrefixFor(NS_HEADS, key));
    const cached = this.cache.get(entryKey);
    if (cached !== undefined) return unpackHeads(cached, limit).map((h) => ({ id: h.id.slice(), record: decodeVersionRecord(h.bytes), bytes: h.bytes })); // A
    const heads = this.headRecords(key, undefined);
    if (heads.length > 0) this.cache.set(entryKey, packHeads(heads));
    return heads;
  }

  /** The key's heads with their records, winner (greatest (hlc, id)) first. */
  private headRecords(key: Uint8Array, snapshot: Snapshot | undefined): HeadRecord[] { // A
    const out: HeadRecord[] = [];
    const value = this.db.getSync(keyPrefixFor(NS_HEADS, key), snapshot === undefined ? undefined : { snapshot });
    if (value === undefined) return out;
    for (const id of decodeHeads(value, key)) {
      const bytes = this.db.getSync(concatKey(Uint8Array.of(NS_VERSION), id), snapshot === undefined ? undefined : { snapshot });
      if (bytes === undefined) throw new CorruptionError(`key ${keyText(key)} has head ${bytesToHex(id)}, whose record is missing`);
      out.push({ id, record: checkedRecord(id, bytes), bytes });
    }
    if (out.length > 1) out.sort((a, b) => compareVersions(b, a)); // A
    return out;
  }

  /** The record stored under `id`, checked to hash to it; undefined if absent. */
  private recordOf(id: Uint8Array, snapshot: Snapshot | undefined): VersionRecord | undefined { // PA
    const bytes = this.db.getSync(concatKey(Uint8Array.of(NS_VERSION), id), snapshot === undefined ? undefined : { snapshot });
    return bytes === undefined ? undefined : checkedRecord(id, bytes);
  }

  /** The value a record names, checked against its hash. */
  private valueOf(record: VersionRecord, id: Uint8Array, snapshot: Snapshot | undefined): Uint8Array { // PA
    const value = this.db.getSync(concatKey(Uint8Array.of(NS_VALUE), record.valueHash), snapshot === undefined ? undefined : { snapshot });
    const where = (): string => `value of version ${bytesToHex(id)} of key ${keyText(record.key)}`; // A
    if (value === undefined) throw new CorruptionError(`${where()} is missing`);
    if (value.length !== record.valueSize || !equalBytes(sha256(value), record.valueHash)) {
      throw new CorruptionError(`${where()} does not match its hash`);
    }
    return value;
  }

  private checkOpen(): void { // A
    if (this.closed) throw new ClosedError("store");
  }
}

/** An ingest item with its own copies of the bytes (anything malformed passes through for ingest to refuse). */
function copyItem(item: IngestItem): IngestItem { // A
  if (item === null || typeof item !== "object") return item;
  const out: IngestItem = { ...item };
  if (item.record instanceof Uint8Array) out.record = item.record.slice();
  if (item.value instanceof Uint8Array) out.value = item.value.slice();
  return out;
}

/** The record `bytes` stored under `id`, decoded and checked to hash to it; CorruptionError naming key and id otherwise. */
function checkedRecord(id: Uint8Array, bytes: Uint8Array): VersionRecord { // PA
  // The hash first: on the hot path the error's name (64 hex digits) is never built.
  const hashOk = equalBytes(versionIdBytes(bytes, sha256), id);
  const what = (): string => `version ${bytesToHex(id)}`; // A
  let record: VersionRecord;
  try {
    record = decodeVersionRecord(bytes);
  } catch {
    record = decodeVersionRecord(bytes, { what: what() }); // throws the same problem, named
  }
  if (!hashOk) throw new CorruptionError(`${what()} of key ${keyText(record.key)}: the record does not hash to its id`);
  return record;
}

/** Greatest (hlc, id) wins: the order `get` uses until the merge layer resolves divergent heads. */
function compareVersions(a: { id: Uint8Array; record: VersionRecord }, b: { id: Uint8Array; record: VersionRecord }): number { // A
  const d = a.record.hlc.ms - b.record.hlc.ms || a.record.hlc.counter - b.record.hlc.counter;
  if (d !== 0) return d;
  for (let i = 0; i < ID_BYTES; i++) if (a.id[i] !== b.id[i]) return a.id[i]! - b.id[i]!;
  return 0;
}

function prefixRange(prefix: Uint8Array): { gte: Uint8Array; lt?: Uint8Array } { // A
  const end = prefixEnd(prefix);
  return end === undefined ? { gte: prefix } : { gte: prefix, lt: end };
}

/** A user key for a write, checked against STORE_MAX_KEY_BYTES. */
function storeKey(key: Uint8Array | string): Uint8Array { // A
  const k = toBytes(key, "key");
  if (k.length > STORE_MAX_KEY_BYTES) throw new InvalidArgumentError(`key of ${k.length} bytes exceeds the store's maximum of ${STORE_MAX_KEY_BYTES} bytes`);
  return k;
}
