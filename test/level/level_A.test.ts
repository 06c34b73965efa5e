/**
 * OuroborosLevel beyond the shared suite: our error mapping, encodings round
 * trips over the engine's unsigned bytewise order, iterators after close,
 * seek at the iterator's snapshot, clear() against a model, and permanence
 * on the real file system.
 */
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import {
  ClosedError,
  CorruptionError,
  InvalidArgumentError,
  IOError,
  LockedError,
  MAX_KEY_BYTES,
  MemFileSystem,
  NotFoundError,
  silentLog,
} from "../../src/index.ts";
import { LevelError, OuroborosLevel } from "../../src/level/index.ts";
import { toLevelError } from "../../src/level/errors.ts";
import { tempDir } from "../support/tmp.ts";

function memLevel<K = string, V = string>(options: object = {}, fs = new MemFileSystem()): OuroborosLevel<K, V> { // A
  return new OuroborosLevel<K, V>("/db", { fs, log: silentLog(), ...options });
}

async function rejection(p: Promise<unknown>): Promise<Error & { code?: string; cause?: unknown }> { // A
  try {
    await p;
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error("expected a rejection");
}

describe("error mapping", () => {
  test("typed engine errors get Level codes and keep the engine error as cause", () => {
    const cases: Array<[Error, string]> = [
      [new CorruptionError("bad block", { file: "000001.sst", offset: 4096 }), "LEVEL_CORRUPTION"],
      [new IOError("read", "/db/x", "EIO"), "LEVEL_IO_ERROR"],
      [new LockedError("/db"), "LEVEL_LOCKED"],
      [new ClosedError("snapshot"), "LEVEL_SNAPSHOT_NOT_OPEN"],
      [new ClosedError(), "LEVEL_DATABASE_NOT_OPEN"],
    ];
    for (const [engineError, code] of cases) {
      const mapped = toLevelError(engineError) as LevelError;
      expect(mapped).toBeInstanceOf(LevelError);
      expect(mapped.code).toBe(code);
      expect(mapped.cause).toBe(engineError);
      expect(mapped.message).toBe(engineError.message);
    }
    expect((toLevelError(new ClosedError(), "iterator") as LevelError).code).toBe("LEVEL_ITERATOR_NOT_OPEN");
    const invalid = new InvalidArgumentError("nope");
    expect(toLevelError(invalid)).toBe(invalid);
    const foreign = new TypeError("not ours");
    expect(toLevelError(foreign)).toBe(foreign);
  });

  test("a missing database with createIfMissing off says 'does not exist' and keeps the NotFoundError", async () => {
    const db = memLevel({ createIfMissing: false });
    const err = await rejection(db.open());
    expect(err.code).toBe("LEVEL_DATABASE_NOT_OPEN");
    const cause = err.cause as LevelError;
    expect(cause.code).toBe("LEVEL_NOT_FOUND");
    expect(cause.message).toMatch(/does not exist/);
    expect(cause.cause).toBeInstanceOf(NotFoundError);
    expect(db.status).toBe("closed");
  });

  test("a second handle on the same directory fails with LEVEL_LOCKED", async () => {
    const fs = new MemFileSystem();
    const a = memLevel({}, fs);
    await a.open();
    const b = memLevel({}, fs);
    const err = await rejection(b.open());
    expect(err.code).toBe("LEVEL_DATABASE_NOT_OPEN");
    expect((err.cause as LevelError).code).toBe("LEVEL_LOCKED");
    expect((err.cause as LevelError).cause).toBeInstanceOf(LockedError);
    await a.close();
    await b.open();
    await b.close();
  });

  test("oversized keys are LEVEL_INVALID_KEY, in put, del and batch, and nothing is written", async () => {
    const db = memLevel<Uint8Array, string>({ keyEncoding: "view" });
    const big = new Uint8Array(MAX_KEY_BYTES + 1);
    expect((await rejection(db.put(big, "v"))).code).toBe("LEVEL_INVALID_KEY");
    expect((await rejection(db.del(big))).code).toBe("LEVEL_INVALID_KEY");
    const ok = new Uint8Array([1]);
    const batch = [
      { type: "put" as const, key: ok, value: "v" },
      { type: "put" as const, key: big, value: "v" },
    ];
    expect((await rejection(db.batch(batch))).code).toBe("LEVEL_INVALID_KEY");
    expect(await db.get(ok)).toBeUndefined();
    await db.close();
  });

  test("a missing key reads as undefined, not an error (abstract-level 3)", async () => {
    const db = memLevel();
    expect(await db.get("nope")).toBeUndefined();
    expect(db.getSync("nope")).toBeUndefined();
    expect(await db.getMany(["nope", "nada"])).toEqual([undefined, undefined]);
    expect(await db.has("nope")).toBe(false);
    await db.close();
  });
});

describe("encodings over the engine", () => {
  test("utf8, json, view and buffer round trip; keys sort by unsigned bytes", async () => {
    const db = memLevel<Uint8Array, Uint8Array>({ keyEncoding: "view", valueEncoding: "view" });
    const keys = [[0xff], [0x00], [0x80, 0x00], [0x7f], [], [0x80]].map((b) => new Uint8Array(b));
    await db.batch(keys.map((k, i) => ({ type: "put" as const, key: k, value: new Uint8Array([i, 0xff - i]) })));
    const got = await db.keys().all();
    expect(got.map((k) => [...k])).toEqual([[], [0x00], [0x7f], [0x80], [0x80, 0x00], [0xff]]);
    expect([...(await db.get(new Uint8Array([0x80, 0x00])))!]).toEqual([2, 0xfd]);

    await db.put(new TextEncoder().encode("héllo"), new TextEncoder().encode("wörld"));
    expect(await db.get("héllo", { keyEncoding: "utf8", valueEncoding: "utf8" })).toBe("wörld");
    await db.put("doc", { a: [1, "two", null] } as never, { keyEncoding: "utf8", valueEncoding: "json" });
    expect(await db.get("doc", { keyEncoding: "utf8", valueEncoding: "json" })).toEqual({ a: [1, "two", null] });
    const asBuffer = await db.get("doc", { keyEncoding: "utf8", valueEncoding: "buffer" });
    expect(asBuffer).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(asBuffer as unknown as Uint8Array)).toBe('{"a":[1,"two",null]}');
    await db.close();
  });

  test("values come back as copies: mutating a result does not change the stored value", async () => {
    const db = memLevel<string, Uint8Array>({ valueEncoding: "view" });
    await db.put("k", new Uint8Array([1, 2, 3]));
    const first = (await db.get("k"))!;
    first[0] = 99;
    expect([...(await db.get("k"))!]).toEqual([1, 2, 3]);
    const [[, fromIterator]] = await db.iterator().all();
    fromIterator![1] = 99;
    expect([...db.getSync("k")!]).toEqual([1, 2, 3]);
    await db.close();
  });
});

describe("iterators", () => {
  test("reading a closed iterator is LEVEL_ITERATOR_NOT_OPEN; db.close() closes open iterators", async () => {
    const db = memLevel();
    await db.batch([{ type: "put", key: "a", value: "1" }, { type: "put", key: "b", value: "2" }]);
    const it = db.iterator();
    expect(await it.next()).toEqual(["a", "1"]);
    await it.close();
    expect((await rejection(it.next())).code).toBe("LEVEL_ITERATOR_NOT_OPEN");

    const open = db.keys();
    expect(await open.next()).toBe("a");
    expect(db.engine.stats().liveSnapshots).toBe(1);
    await db.close();
    expect((await rejection(open.next())).code).toBe("LEVEL_ITERATOR_NOT_OPEN");
    expect(() => db.engine).toThrow(/not open/);
  });

  test("iterators release their snapshot when closed or exhausted", async () => {
    const db = memLevel();
    await db.put("a", "1");
    await db.iterator().all();
    await db.values({ limit: 1 }).all();
    const it = db.iterator();
    await it.next();
    expect(db.engine.stats().liveSnapshots).toBe(1);
    await it.close();
    expect(db.engine.stats().liveSnapshots).toBe(0);
    await db.close();
  });

  test("seek stays on the iterator's snapshot and inside its range, forward and reverse", async () => {
    const db = memLevel();
    await db.batch(["a", "c", "e", "g", "i"].map((k) => ({ type: "put" as const, key: k, value: k.toUpperCase() })));
    const it = db.iterator({ gt: "a", lte: "g" });
    await db.put("d", "D");
    await db.del("e");
    it.seek("b");
    expect(await it.next()).toEqual(["c", "C"]);
    it.seek("d");
    expect(await it.all()).toEqual([["e", "E"], ["g", "G"]]);

    // Made after the put of d and the delete of e, so its snapshot has d and not e.
    const rev = db.keys({ reverse: true, gte: "c" });
    it.seek("z"); // on a closed iterator: a no-op by abstract-level's rules
    rev.seek("f");
    expect(await rev.next()).toBe("d");
    rev.seek("zz");
    expect(await rev.next()).toBe("i");
    rev.seek("a"); // below the range: nothing left
    expect(await rev.next()).toBeUndefined();
    await rev.close();
    await db.close();
  });

  test("an explicit snapshot serves get, getMany, iterators and sublevels at one point in time", async () => {
    const db = memLevel();
    const sub = db.sublevel<string, string>("s");
    await sub.put("x", "old");
    await db.put("top", "old");
    const snapshot = db.snapshot();
    await sub.put("x", "new");
    await db.del("top");
    expect(await sub.get("x", { snapshot })).toBe("old");
    expect(await sub.get("x")).toBe("new");
    expect(await db.getMany(["top"], { snapshot })).toEqual(["old"]);
    expect(await sub.iterator({ snapshot }).all()).toEqual([["x", "old"]]);
    expect(db.engine.stats().liveSnapshots).toBe(1);
    await snapshot.close();
    expect(db.engine.stats().liveSnapshots).toBe(0);
    await db.close();
  });
});

describe("clear", () => {
  test("clear with random ranges, limit and reverse matches a sorted-array model", async () => {
    const key = fc.integer({ min: 0, max: 60 }).map((n) => String(n).padStart(2, "0"));
    const range = fc.record(
      {
        gt: key,
        gte: key,
        lt: key,
        lte: key,
        limit: fc.integer({ min: -1, max: 40 }),
        reverse: fc.boolean(),
      },
      { requiredKeys: [] },
    );
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(key, { maxLength: 50 }), range, async (keys, r) => {
        const db = memLevel();
        await db.batch(keys.map((k) => ({ type: "put" as const, key: k, value: "v" })));
        await db.clear(r);
        const expected = modelClear([...keys].sort(), r);
        expect(await db.keys().all()).toEqual(expected);
        await db.close();
      }),
      { numRuns: 60 },
    );
  });

  test("clear over more keys than one internal batch, with a limit, in reverse", async () => {
    const db = memLevel();
    const keys = Array.from({ length: 2600 }, (_, i) => `k${String(i).padStart(5, "0")}`);
    await db.batch(keys.map((k) => ({ type: "put" as const, key: k, value: "v" })));
    await db.clear({ gte: "k00100", reverse: true, limit: 2300 });
    const left = await db.keys().all();
    expect(left).toEqual(keys.slice(0, 300));
    await db.clear();
    expect(await db.keys().all()).toEqual([]);
    await db.close();
  });
});

interface ModelRange {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  limit?: number;
  reverse?: boolean;
}

/** What clear(range) leaves of sorted `keys`: gte wins over gt and lte over lt, as in Level. */
function modelClear(keys: string[], r: ModelRange): string[] { // A
  const inRange = (k: string): boolean =>
    (r.gte !== undefined ? k >= r.gte : r.gt === undefined || k > r.gt) &&
    (r.lte !== undefined ? k <= r.lte : r.lt === undefined || k < r.lt);
  let doomed = keys.filter(inRange);
  if (r.reverse === true) doomed.reverse();
  if (r.limit !== undefined && r.limit >= 0) doomed = doomed.slice(0, r.limit);
  const gone = new Set(doomed);
  return keys.filter((k) => !gone.has(k));
}

describe("on the real file system", () => {
  test("data survives close and a new instance; manifest says permanence", async () => {
    const dir = tempDir("ouro-level-");
    try {
      const db = new OuroborosLevel(dir.path, { log: silentLog() });
      expect(db.supports.permanence).toBe(true);
      expect(memLevel().supports.permanence).toBe(false);
      await db.put("k", "v");
      await db.batch().put("a", "1").del("k").put("b", "2").write();
      await db.close();
      const again = new OuroborosLevel(dir.path, { log: silentLog(), createIfMissing: false });
      expect(await again.iterator().all()).toEqual([["a", "1"], ["b", "2"]]);
      await again.close();
      const exclusive = new OuroborosLevel(dir.path, { log: silentLog(), errorIfExists: true });
      const err = await rejection(exclusive.open());
      expect(err.code).toBe("LEVEL_DATABASE_NOT_OPEN");
      expect(String((err.cause as Error).message)).toMatch(/exists/);
    } finally {
      dir.cleanup();
    }
  });
});

describe("package surface", () => {
  test("the manifest claims what the adapter implements", () => {
    const s = memLevel().supports;
    for (const feature of ["implicitSnapshots", "explicitSnapshots", "getSync", "has", "seek", "createIfMissing", "errorIfExists"] as const) {
      expect(s[feature], feature).toBe(true);
    }
    expect(s.encodings.view).toBe(true);
    expect(s.encodings.utf8).toBe(true);
  });

  test("a bad location or options object is an InvalidArgumentError before anything opens", () => {
    expect(() => new OuroborosLevel("")).toThrow(InvalidArgumentError);
    expect(() => new OuroborosLevel("/x", null as never)).toThrow(InvalidArgumentError);
  });

  test("package.json exports ./level like the main entry", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      exports: Record<string, Record<string, string>>;
    };
    expect(pkg.exports["./level"]).toEqual({
      types: "./dist/src/level/index.d.ts",
      bun: "./src/level/index.ts",
      deno: "./src/level/index.ts",
      default: "./dist/src/level/index.js",
    });
  });
});
