/**
 * One adapter per engine under benchmark, behind one small interface, so the
 * cases in cases.ts time the same loop against every engine.
 *
 * Each engine is reached through a dynamic import inside try/catch: a peer
 * whose native module does not load on this runtime (better-sqlite3 on Bun
 * and Deno) is skipped with a note instead of failing the whole run. Our own
 * engine is imported the same way, so the peers can be measured while ours
 * is still being built.
 *
 * Durability is matched across engines as far as their knobs allow: no fsync
 * per write, but every acknowledged write is in the OS (survives a process
 * crash, not a power loss): ours `sync: false` (its default), LevelDB
 * `sync: false`, LMDB `noSync`, SQLite WAL with `synchronous=NORMAL`.
 */
import { join } from "node:path";
import type { DB, DBStats } from "../src/index.ts";
import type { Column } from "./cases.ts";

export const ENGINE_NAMES = ["ours", "classic-level", "lmdb", "better-sqlite3"] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];

/**
 * The common shape. Writes and reads come in an awaited and a synchronous
 * flavour; an engine implements the ones its API natively has (at least one
 * of each pair) and the cases measure every flavour present.
 */
export interface Engine {
  readonly name: EngineName;
  /** Human-readable API used per flavour, for the report. */
  readonly apis: Readonly<Record<string, string>>;
  open(dir: string): Promise<void>;
  /** Writes keys[start..end) with values[start..end) as one atomic batch, awaited. */
  putBatch(keys: Column, values: Column, start: number, end: number): Promise<void>;
  put?(key: Uint8Array, value: Uint8Array): Promise<void>;
  putSync?(key: Uint8Array, value: Uint8Array): void;
  get?(key: Uint8Array): Promise<Uint8Array | undefined>;
  getSync?(key: Uint8Array): Uint8Array | undefined;
  /** Full forward scan; returns the number of entries seen. */
  scan?(): Promise<number>;
  scanSync?(): number;
  /**
   * Full compaction after the fillrandom load (its API is `apis.compact`).
   * Absent where the engine has none (lmdb updates its B+tree in place);
   * `apis.compact` then says so for the report.
   */
  compact?(): Promise<void>;
  /**
   * Value-log garbage collection, run after `compact` by the overwrite case
   * (ours: `db.gcValueLog()`, called only where the DB has that method).
   * Resolves to the API called, or undefined when there was none to call.
   */
  gcValueLog?(): Promise<string | undefined>;
  /** The engine's own view of its shape (ours: a `db.stats()` summary), or undefined. */
  shape?(): EngineShape | undefined;
  close(): Promise<void>;
}

/** An engine's internals after a step, as printable lines plus the raw object for the JSON. */
export interface EngineShape {
  lines: string[];
  raw: unknown;
}

export interface LoadedEngines {
  engines: Engine[];
  skipped: Array<{ name: EngineName; reason: string }>;
  versions: Partial<Record<EngineName, string>>;
}

/** Loads the named engines in order; those that fail to load are reported in `skipped`. */
export async function loadEngines(names: readonly EngineName[]): Promise<LoadedEngines> { // A
  const out: LoadedEngines = { engines: [], skipped: [], versions: {} };
  for (const name of names) {
    try {
      out.engines.push(await loadEngine(name));
      out.versions[name] = await packageVersion(name);
    } catch (e) {
      out.skipped.push({ name, reason: firstLine(e) });
    }
  }
  return out;
}

async function loadEngine(name: EngineName): Promise<Engine> { // A
  switch (name) {
    case "ours":
      return new OursEngine(await import("../src/index.ts"));
    case "classic-level":
      return new ClassicLevelEngine(await importPeer("classic-level"));
    case "lmdb":
      return new LmdbEngine(await importPeer("lmdb"));
    case "better-sqlite3":
      return await SqliteEngine.load(await importPeer("better-sqlite3"));
  }
}

/**
 * A peer's module, untyped on purpose: the harness must compile without any
 * peer's type declarations, and only the few calls below are used.
 */
async function importPeer(specifier: string): Promise<any> { // A
  return await import(specifier);
}

/** The installed version, read from the package's package.json (found from its entry point: lmdb does not export the file). */
async function packageVersion(name: EngineName): Promise<string> { // A
  if (name === "ours") return "working tree";
  try {
    const { createRequire } = await import("node:module");
    const { existsSync, readFileSync } = await import("node:fs");
    const { dirname, join } = await import("node:path");
    let dir = dirname(createRequire(import.meta.url).resolve(name));
    for (let depth = 0; depth < 6; depth++, dir = dirname(dir)) {
      const file = join(dir, "package.json");
      if (!existsSync(file)) continue;
      const pkg = JSON.parse(readFileSync(file, "utf8")) as { name?: string; version?: string };
      if (pkg.name === name) return pkg.version ?? "?";
    }
    return "?";
  } catch {
    return "?";
  }
}

function firstLine(e: unknown): string { // A
  const s = e instanceof Error ? e.message : String(e);
  return s.split("\n")[0] ?? s;
}

type OursModule = typeof import("../src/index.ts");

/** OuroborosDB through its public API (`openDB`), default options (`sync: false`). */
class OursEngine implements Engine {
  readonly name = "ours";
  readonly apis = {
    batch: "db.write(db.batch().put(..)...)",
    put: "await db.put",
    get: "await db.get",
    getSync: "db.getSync",
    scan: "for await (db.iterate())",
    scanSync: "db.iterate().nextSync()",
    compact: "await db.compact() (flushes the memtable, compacts every level)",
  };
  private db: DB | undefined;

  constructor(private readonly mod: OursModule) {} // A

  async open(dir: string): Promise<void> { // A
    this.db = await this.mod.openDB(dir);
  }

  async putBatch(keys: Column, values: Column, start: number, end: number): Promise<void> { // A
    const db = this.db!;
    const b = db.batch();
    for (let i = start; i < end; i++) b.put(keys.at(i), values.at(i));
    await db.write(b);
  }

  put(key: Uint8Array, value: Uint8Array): Promise<void> { // A
    return this.db!.put(key, value);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> { // A
    return this.db!.get(key);
  }

  getSync(key: Uint8Array): Uint8Array | undefined { // A
    return this.db!.getSync(key);
  }

  async scan(): Promise<number> { // A
    let n = 0;
    for await (const _entry of this.db!.iterate()) n++;
    return n;
  }

  scanSync(): number { // A
    const it = this.db!.iterate();
    let n = 0;
    while (it.nextSync() !== undefined) n++;
    return n;
  }

  async compact(): Promise<void> { // A
    await this.db!.compact();
  }

  async gcValueLog(): Promise<string | undefined> { // A
    const db = this.db! as unknown as { gcValueLog?: () => Promise<unknown> };
    if (typeof db.gcValueLog !== "function") return undefined;
    await db.gcValueLog();
    return "await db.gcValueLog()";
  }

  shape(): EngineShape | undefined { // A
    const db = this.db;
    if (db === undefined) return undefined;
    const s = db.stats();
    return { lines: summarizeStats(s), raw: s };
  }

  async close(): Promise<void> { // A
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }
}

/** The write path's shape in a few lines: files and bytes per level, runs, amplification, background work. */
function summarizeStats(s: DBStats): string[] { // A
  const levels = s.levels.filter((l) => l.files > 0).map((l) => `L${l.level} ${l.files} files ${mib(l.bytes)}`); // A
  const c = s.blockCache;
  return [
    `levels: ${levels.length === 0 ? "(no tables)" : levels.join(", ")}; tables ${mib(s.tableBytes)}`,
    `sortedRuns ${s.sortedRuns}, writeAmplification ${s.writeAmplification.toFixed(2)}, flushes ${s.flushes}, ` +
      `compactions ${s.compactions} (trivial moves ${s.trivialMoves}, read ${mib(s.compactionBytesRead)}, written ${mib(s.compactionBytesWritten)}), ` +
      `writeStalls ${s.writeStalls}`,
    `memtable ${mib(s.memtableBytes)} (${s.memtableKeys} keys), immutable memtables ${s.immutableMemtables}, WAL files ${s.walFiles}; ` +
      `block cache ${mib(c.usedBytes)}/${mib(c.capacityBytes)} hit rate ${(c.hitRate * 100).toFixed(1)}%; ` +
      `profile ${s.profile}, compaction ${s.compaction}; background error ${s.backgroundError ?? "none"}`,
  ];
}

function mib(bytes: number): string { // A
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * LevelDB through classic-level 3's promise API, binary keys and values,
 * `sync: false`. Batches use the chained form: here it ran 6-7x faster than
 * the array form `db.batch([...ops])` (800k vs 120k puts/s at 200k keys).
 */
class ClassicLevelEngine implements Engine {
  readonly name = "classic-level";
  readonly apis = {
    batch: "await db.batch().put(..)...write({ sync: false })",
    put: "await db.put(k, v, { sync: false })",
    get: "await db.get",
    getSync: "db.getSync",
    scan: "for await (db.iterator())",
    compact: "await db.compactRange(0x00, 0xff x17) (every key of the data set lies inside)",
  };
  private db: any;
  private readonly writeOptions = { sync: false };

  constructor(private readonly mod: any) {} // A

  async open(dir: string): Promise<void> { // A
    this.db = new this.mod.ClassicLevel(dir, { keyEncoding: "view", valueEncoding: "view" });
    await this.db.open();
  }

  async putBatch(keys: Column, values: Column, start: number, end: number): Promise<void> { // A
    const b = this.db.batch();
    for (let i = start; i < end; i++) b.put(keys.at(i), values.at(i));
    await b.write(this.writeOptions);
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> { // A
    await this.db.put(key, value, this.writeOptions);
  }

  get(key: Uint8Array): Promise<Uint8Array | undefined> { // A
    return this.db.get(key);
  }

  getSync(key: Uint8Array): Uint8Array | undefined { // A
    return this.db.getSync(key);
  }

  async scan(): Promise<number> { // A
    let n = 0;
    for await (const _entry of this.db.iterator()) n++;
    return n;
  }

  /** LevelDB's CompactRange over a range holding every 16-byte key: flushes the memtable and pushes everything down. */
  async compact(): Promise<void> { // A
    await this.db.compactRange(new Uint8Array([0]), new Uint8Array(17).fill(0xff));
  }

  async close(): Promise<void> { // A
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }
}

/**
 * LMDB through lmdb-js: async `put` (puts issued in one event turn share a
 * transaction, so a batch is 1000 puts and an await of the last), `noSync`,
 * synchronous `get` and `getRange`, no compression.
 */
class LmdbEngine implements Engine {
  readonly name = "lmdb";
  readonly apis = {
    batch: "db.put x1000 in one turn, await the last",
    put: "await db.put",
    putSync: "db.putSync",
    getSync: "db.get (sync)",
    scanSync: "for (db.getRange())",
    compact: "none (B+tree updated in place; no compaction API, size reported as is)",
  };
  private db: any;

  constructor(private readonly mod: any) {} // A

  async open(dir: string): Promise<void> { // A
    this.db = this.mod.open({ path: dir, noSync: true, compression: false, keyEncoding: "binary", encoding: "binary" });
  }

  async putBatch(keys: Column, values: Column, start: number, end: number): Promise<void> { // A
    const db = this.db;
    let last: Promise<boolean> | undefined;
    for (let i = start; i < end; i++) last = db.put(keys.at(i), values.at(i));
    await last;
  }

  async put(key: Uint8Array, value: Uint8Array): Promise<void> { // A
    await this.db.put(key, value);
  }

  putSync(key: Uint8Array, value: Uint8Array): void { // A
    this.db.putSync(key, value);
  }

  getSync(key: Uint8Array): Uint8Array | undefined { // A
    return this.db.get(key);
  }

  scanSync(): number { // A
    let n = 0;
    for (const _entry of this.db.getRange()) n++;
    return n;
  }

  async close(): Promise<void> { // A
    const db = this.db;
    this.db = undefined;
    await db?.close();
  }
}

/**
 * SQLite through better-sqlite3 (synchronous by design): WAL journal,
 * `synchronous=NORMAL`, a WITHOUT ROWID table keyed by the BLOB key,
 * prepared statements, one transaction per batch.
 */
class SqliteEngine implements Engine {
  readonly name = "better-sqlite3";
  readonly apis = {
    batch: "db.transaction(insert.run x1000)",
    putSync: "insert.run (INSERT OR REPLACE)",
    getSync: "select.get",
    scanSync: "scan.iterate()",
    compact: "VACUUM, then PRAGMA wal_checkpoint(TRUNCATE)",
  };
  private db: any;
  private insert: any;
  private select: any;
  private scanAll: any;
  private insertMany: ((keys: Column, values: Column, start: number, end: number) => void) | undefined;

  private constructor(private readonly Database: any) {} // A

  /** Checks that the native addon loads (it does not on Bun or Deno) before the engine is accepted. */
  static async load(mod: any): Promise<SqliteEngine> { // A
    const Database = mod.default ?? mod;
    new Database(":memory:").close();
    return new SqliteEngine(Database);
  }

  async open(dir: string): Promise<void> { // A
    const db = new this.Database(join(dir, "bench.sqlite"));
    db.pragma("journal_mode = WAL");
    db.pragma("synchronous = NORMAL");
    db.exec("CREATE TABLE IF NOT EXISTS kv (k BLOB PRIMARY KEY, v BLOB NOT NULL) WITHOUT ROWID");
    this.insert = db.prepare("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)");
    this.select = db.prepare("SELECT v FROM kv WHERE k = ?").pluck();
    this.scanAll = db.prepare("SELECT k, v FROM kv ORDER BY k").raw();
    const insert = this.insert;
    this.insertMany = db.transaction(function insertRange( // A
      keys: Column,
      values: Column,
      start: number,
      end: number,
    ): void {
      for (let i = start; i < end; i++) insert.run(keys.at(i), values.at(i));
    });
    this.db = db;
  }

  async putBatch(keys: Column, values: Column, start: number, end: number): Promise<void> { // A
    this.insertMany!(keys, values, start, end);
  }

  putSync(key: Uint8Array, value: Uint8Array): void { // A
    this.insert.run(key, value);
  }

  getSync(key: Uint8Array): Uint8Array | undefined { // A
    return this.select.get(key);
  }

  scanSync(): number { // A
    let n = 0;
    for (const _row of this.scanAll.iterate()) n++;
    return n;
  }

  /** Rebuilds the file without free pages; the checkpoint folds the WAL (which VACUUM filled) back and truncates it. */
  async compact(): Promise<void> { // A
    this.db.exec("VACUUM");
    this.db.pragma("wal_checkpoint(TRUNCATE)");
  }

  async close(): Promise<void> { // A
    const db = this.db;
    this.db = undefined;
    db?.close();
  }
}
