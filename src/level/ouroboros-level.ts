/**
 * OuroborosLevel: an `abstract-level` database backed by the OuroborosDB
 * engine, so the Level ecosystem (sublevels, level-read-stream, encodings,
 * hooks, ...) can use the engine as a drop-in for classic-level.
 *
 * abstract-level does the public API (argument checks, encodings, deferred
 * open, events, sublevels); this class fills in the private `_*` methods.
 * The private API speaks `view` (Uint8Array) only: every other encoding
 * (utf8, json, buffer, ...) is transcoded to and from it by the base class,
 * and no Buffer ever reaches the engine.
 *
 * Snapshots: the engine reads at a sequence number taken synchronously when a
 * read starts, so reads honour `supports.implicitSnapshots`; `db.snapshot()`
 * hands out an engine Snapshot (`supports.explicitSnapshots`).
 */
import { AbstractLevel } from "abstract-level";
import type { AbstractDatabaseOptions } from "abstract-level";
import {
  InvalidArgumentError,
  MAX_KEY_BYTES,
  MAX_VALUE_BYTES,
  MemFileSystem,
  openDB,
  type DB,
  type DBOptions,
  type Snapshot,
} from "../index.ts";
import { isMissingDatabase, LevelError, missingDatabaseError, toLevelError } from "./errors.ts";
import {
  EngineCursor,
  OuroborosIterator,
  OuroborosKeyIterator,
  OuroborosValueIterator,
  type PrivateRangeOptions,
} from "./iterator.ts";
import { OuroborosSnapshot } from "./snapshot.ts";

/** Constructor options: abstract-level's (encodings, createIfMissing, errorIfExists) plus the engine's `openDB` options. */
export type OuroborosLevelOptions<K = string, V = string> = AbstractDatabaseOptions<K, V> &
  Omit<DBOptions, "createIfMissing" | "errorIfExists">;

/** What abstract-level passes to the private read methods. */
interface PrivateReadOptions {
  snapshot?: OuroborosSnapshot;
}

/** What abstract-level passes to the private write methods (plus whatever the caller added, such as `sync`). */
interface PrivateWriteOptions {
  sync?: unknown;
}

interface PrivateBatchOperation {
  type: "put" | "del";
  key: Uint8Array;
  value?: Uint8Array;
}

/** Keys deleted per engine batch by `clear()`: bounds the batch's memory (at most ~64 MiB of 64 KiB keys). */
const CLEAR_BATCH_KEYS = 1000;

type EngineOnlyOption = Exclude<keyof DBOptions, "createIfMissing" | "errorIfExists">;

/**
 * The options that go to the engine and not to abstract-level (which would
 * forward them to `open()` and to hooks). Typed as a complete record of
 * DBOptions so a new engine option that is not listed here fails the build.
 */
const ENGINE_OPTIONS: Record<EngineOnlyOption, true> = {
  profile: true, fs: true, compaction: true, valueThreshold: true, valueLogGc: true, memoryBudgetBytes: true, memtableBytes: true, cacheBytes: true,
  walMaxBytes: true, vlogFileBytes: true, blockBytes: true, bloomBitsPerKey: true, targetFileBytes: true,
  l0CompactionTrigger: true, maxSortedRuns: true, level1Bytes: true, levelSizeRatio: true,
  maxSpaceAmplificationPercent: true, tableCacheFiles: true, sync: true, readOnly: true, repair: true,
  log: true, random: true,
};

/** Splits constructor options into the engine's and abstract-level's (which keeps unknown, userland ones). */
function splitOptions(options: object): { engine: DBOptions; level: Record<string, unknown> } { // A
  const engine: Record<string, unknown> = {};
  const level: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) {
    if (Object.hasOwn(ENGINE_OPTIONS, k)) engine[k] = v;
    else level[k] = v;
  }
  return { engine: engine as DBOptions, level };
}

export class OuroborosLevel<KDefault = string, VDefault = string> extends AbstractLevel<Uint8Array, KDefault, VDefault> {
  /** The directory of the database (on `options.fs` when given). */
  readonly location: string;
  readonly #engineOptions: DBOptions;
  #engine: DB | undefined;

  constructor(location: string, options: OuroborosLevelOptions<KDefault, VDefault> = {}) { // A
    const split = splitOptions(manifestArgs(location, options));
    super(manifestFor(split.engine) as never, split.level as never);
    this.location = location;
    this.#engineOptions = split.engine;
  }

  /** The engine under this database (for flush, compact, verify, stats). Throws unless open. */
  get engine(): DB { // A
    if (this.#engine === undefined) {
      throw new LevelError("LEVEL_DATABASE_NOT_OPEN", `database ${this.location} is not open; await db.open() first`);
    }
    return this.#engine;
  }

  async _open(options: { createIfMissing: boolean; errorIfExists: boolean }): Promise<void> { // A
    const o: DBOptions = { ...this.#engineOptions, createIfMissing: options.createIfMissing, errorIfExists: options.errorIfExists };
    try {
      this.#engine = await openDB(this.location, o);
    } catch (e) {
      if (isMissingDatabase(e)) throw missingDatabaseError(this.location, e);
      throw toLevelError(e);
    }
  }

  async _close(): Promise<void> { // A
    const engine = this.#engine;
    if (engine === undefined) return;
    try {
      await engine.close();
    } catch (e) {
      throw toLevelError(e);
    } finally {
      this.#engine = undefined;
    }
  }

  async _get(key: Uint8Array, options: PrivateReadOptions): Promise<Uint8Array | undefined> { // A
    return this._getSync(key, options);
  }

  _getSync(key: Uint8Array, options: PrivateReadOptions): Uint8Array | undefined { // A
    try {
      return this.engine.getSync(key, readOptions(options));
    } catch (e) {
      throw toLevelError(e);
    }
  }

  async _getMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<Array<Uint8Array | undefined>> { // A
    return this.atOneSnapshot(options, (snapshot) => keys.map((k) => this.engine.getSync(k, { snapshot })));
  }

  async _has(key: Uint8Array, options: PrivateReadOptions): Promise<boolean> { // A
    return this._getSync(key, options) !== undefined;
  }

  async _hasMany(keys: Uint8Array[], options: PrivateReadOptions): Promise<boolean[]> { // A
    return this.atOneSnapshot(options, (snapshot) => keys.map((k) => this.engine.getSync(k, { snapshot }) !== undefined));
  }

  async _put(key: Uint8Array, value: Uint8Array, options: PrivateWriteOptions): Promise<void> { // A
    checkKeySize(key);
    checkValueSize(value);
    try {
      await this.engine.put(key, value, writeOptions(options));
    } catch (e) {
      throw toLevelError(e);
    }
  }

  async _del(key: Uint8Array, options: PrivateWriteOptions): Promise<void> { // A
    checkKeySize(key);
    try {
      await this.engine.delete(key, writeOptions(options));
    } catch (e) {
      throw toLevelError(e);
    }
  }

  /** Atomic, also across a crash: one engine WriteBatch. */
  async _batch(operations: PrivateBatchOperation[], options: PrivateWriteOptions): Promise<void> { // A
    const batch = this.engine.batch();
    for (const op of operations) {
      checkKeySize(op.key);
      if (op.type === "put") {
        checkValueSize(op.value!);
        batch.put(op.key, op.value!);
      } else if (op.type === "del") {
        batch.delete(op.key);
      } else {
        throw new InvalidArgumentError(`batch operation type must be 'put' or 'del', got ${String(op.type)}`);
      }
    }
    try {
      await this.engine.write(batch, writeOptions(options));
    } catch (e) {
      throw toLevelError(e);
    }
  }

  /**
   * Deletes the range at one snapshot (writes made after the call are never
   * touched), in batches of CLEAR_BATCH_KEYS: not atomic as a whole, which
   * abstract-level allows; each batch is.
   */
  async _clear(options: PrivateRangeOptions & PrivateWriteOptions): Promise<void> { // A
    const engine = this.engine;
    const cursor = new EngineCursor(engine, options, true, false);
    try {
      let left = options.limit < 0 ? Infinity : options.limit;
      while (left > 0) {
        const entries = cursor.nextv(Math.min(CLEAR_BATCH_KEYS, left));
        if (entries.length === 0) break;
        const batch = engine.batch();
        for (const [k] of entries) batch.delete(k);
        await engine.write(batch, writeOptions(options));
        left -= entries.length;
      }
    } catch (e) {
      throw toLevelError(e);
    } finally {
      cursor.close();
    }
  }

  _iterator(options: PrivateRangeOptions): OuroborosIterator { // A
    return new OuroborosIterator(this, this.engine, options);
  }

  _keys(options: PrivateRangeOptions): OuroborosKeyIterator { // A
    return new OuroborosKeyIterator(this, this.engine, options);
  }

  _values(options: PrivateRangeOptions): OuroborosValueIterator { // A
    return new OuroborosValueIterator(this, this.engine, options);
  }

  _snapshot(options: { owner: object }): OuroborosSnapshot { // A
    let engineSnapshot: Snapshot;
    try {
      engineSnapshot = this.engine.snapshot();
    } catch (e) {
      throw toLevelError(e);
    }
    return new OuroborosSnapshot(options, engineSnapshot);
  }

  /** Runs `read` at the caller's snapshot, or at one taken now and released after. */
  private atOneSnapshot<T>(options: PrivateReadOptions, read: (snapshot: Snapshot) => T): T { // A
    const own = options.snapshot === undefined;
    try {
      const snapshot = options.snapshot?.engine ?? this.engine.snapshot();
      try {
        return read(snapshot);
      } finally {
        if (own) snapshot.release();
      }
    } catch (e) {
      throw toLevelError(e);
    }
  }
}

/** Checks the constructor's arguments (before `super`, so nothing is set up for a bad call); returns the options. */
function manifestArgs(location: unknown, options: unknown): object { // A
  if (typeof location !== "string" || location.length === 0) {
    throw new InvalidArgumentError("OuroborosLevel needs a location: a non-empty directory path");
  }
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options must be an object");
  return options;
}

/** The abstract-level manifest: what this database supports, honestly. */
function manifestFor(options: DBOptions): Record<string, unknown> { // A
  return {
    encodings: { view: true },
    implicitSnapshots: true,
    explicitSnapshots: true,
    getSync: true,
    has: true,
    seek: true,
    createIfMissing: true,
    errorIfExists: true,
    permanence: !(options.fs instanceof MemFileSystem),
  };
}

function readOptions(options: PrivateReadOptions): { snapshot: Snapshot } | undefined { // A
  return options.snapshot === undefined ? undefined : { snapshot: options.snapshot.engine };
}

function writeOptions(options: PrivateWriteOptions): { sync: boolean } | undefined { // A
  return typeof options.sync === "boolean" ? { sync: options.sync } : undefined;
}

function checkKeySize(key: Uint8Array): void { // A
  if (key.length > MAX_KEY_BYTES) {
    throw new LevelError("LEVEL_INVALID_KEY", `key of ${key.length} bytes exceeds the maximum of ${MAX_KEY_BYTES} bytes`);
  }
}

function checkValueSize(value: Uint8Array): void { // A
  if (value.length > MAX_VALUE_BYTES) {
    throw new LevelError("LEVEL_INVALID_VALUE", `value of ${value.length} bytes exceeds the maximum of ${MAX_VALUE_BYTES} bytes`);
  }
}
