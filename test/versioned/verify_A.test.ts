/**
 * verifyStore (src/versioned/verify.ts): a clean store verifies with the
 * right counts; each kind of damage, injected through the raw engine after
 * the store is closed, is found and named (key and version id) with no
 * echoes of other kinds; divergent heads, merges, pending records and a
 * prune hook are understood; verify reads one snapshot; engine damage is
 * reported, not thrown.
 */
import { describe, expect, test } from "vitest";
import { CorruptionError, MemFileSystem, SeededRandom, VirtualClock, openDB, openStore, silentLog, type StoreOptions, type Version } from "../../src/index.ts";
import type { DB } from "../../src/engine/db.ts";
import { sha256 } from "../../src/platform/sha256.ts";
import { encodeHlc, parseHlc } from "../../src/versioned/hlc.ts";
import { concatKey, decodeHeads, encodeHeads, historyKey, keyPrefixFor, NS_HEADS, NS_HISTORY, NS_PENDING, NS_VALUE, NS_VALUE_REFS, NS_VERSION, NS_WAITING } from "../../src/versioned/keyspace.ts";
import { encodeVersionRecord, versionIdBytes, type VersionRecord } from "../../src/versioned/record.ts";
import { verifyStore, type StoreVerifyOptions, type StoreVerifyReport } from "../../src/versioned/verify.ts";

const enc = new TextEncoder();
const hexBytes = (h: string): Uint8Array => Uint8Array.from(h.match(/../g)!, (x) => parseInt(x, 16));
const toHex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

function opts(fs: MemFileSystem, clock: VirtualClock, extra: StoreOptions = {}): StoreOptions {
  return { fs, clock, log: silentLog(), random: new SeededRandom(5), nodeId: "node-a", ...extra };
}

const recKey = (id: Uint8Array): Uint8Array => concatKey(Uint8Array.of(NS_VERSION), id);
const valKey = (hash: Uint8Array): Uint8Array => concatKey(Uint8Array.of(NS_VALUE), hash);
const headsKey = (key: Uint8Array): Uint8Array => keyPrefixFor(NS_HEADS, key);

/** The key's heads as stored: one entry per key whose value lists the ids (keyspace.ts). */
async function getHeads(db: DB, key: Uint8Array): Promise<Uint8Array[]> {
  const v = await db.get(headsKey(key));
  return v === undefined ? [] : decodeHeads(v);
}

/** Rewrites the key's heads entry with `ids` added and `drop` removed (raw, as damage would). */
async function editHeads(db: DB, key: Uint8Array, add: Uint8Array[], drop: Uint8Array[] = []): Promise<void> {
  const keep = (await getHeads(db, key)).filter((h) => !drop.some((d) => toHex(d) === toHex(h)));
  const ids = [...keep, ...add];
  if (ids.length === 0) await db.delete(headsKey(key));
  else await db.put(headsKey(key), encodeHeads(ids));
}
const histKey = (key: Uint8Array, hlc: { ms: number; counter: number }, id: Uint8Array): Uint8Array => historyKey(key, hlc, id);
const histKeyOf = (v: Version): Uint8Array => histKey(v.key, parseHlc(v.hlc), hexBytes(v.id));

const KEYS: Array<string | Uint8Array> = ["k0", "k1", "k2", "k3", "k4", "", Uint8Array.of(0, 255, 0, 1), "k3\u0000x"];

interface Clean {
  fs: MemFileSystem;
  /** Every write, in order. */
  writes: Version[];
  /** Versions of key "k3", newest first. */
  k3: Version[];
  liveValues: number;
}

/** A store with 8 keys (one empty, one binary, one a prefix of another), 64 writes, deletes, shared values. */
async function cleanStore(): Promise<Clean> {
  const fs = new MemFileSystem();
  const clock = new VirtualClock(1_700_000_000_000);
  const s = await openStore("/db", opts(fs, clock));
  const writes: Version[] = [];
  const values = new Set<string>();
  for (let i = 0; i < 64; i++) {
    clock.advance(1 + (i % 3));
    const key = KEYS[(i * 5) % KEYS.length]!;
    if (i % 6 === 5) {
      writes.push(await s.delete(key));
    } else {
      const value = `value-${i % 9}`;
      values.add(value);
      writes.push(await s.put(key, value));
    }
  }
  await s.close();
  const k3 = writes.filter((v) => toHex(v.key) === toHex(enc.encode("k3"))).reverse();
  return { fs, writes, k3, liveValues: values.size };
}

async function rawDb(fs: MemFileSystem): Promise<DB> {
  return openDB("/db", { fs, log: silentLog() });
}

async function verifyImage(fs: MemFileSystem, options?: StoreVerifyOptions): Promise<StoreVerifyReport> {
  const db = await rawDb(fs);
  try {
    return await verifyStore(db, sha256, options);
  } finally {
    await db.close();
  }
}

function kinds(r: StoreVerifyReport): string[] {
  return Object.keys(r.problemKinds).sort();
}

/** A well-formed record of `key` (not written). */
function craft(key: Uint8Array, parents: Uint8Array[], ms: number, value?: Uint8Array): { id: Uint8Array; bytes: Uint8Array; record: VersionRecord } {
  const record: VersionRecord = {
    key, parents, hlc: { ms, counter: 0 }, node: "node-b", deleted: value === undefined,
    valueHash: value === undefined ? new Uint8Array(32) : sha256(value), valueSize: value?.length ?? 0,
  };
  const bytes = encodeVersionRecord(record);
  return { id: versionIdBytes(bytes, sha256), bytes, record };
}

/** Links a crafted version the way the store would: record, value, history entry, heads. */
async function link(db: DB, v: ReturnType<typeof craft>, value: Uint8Array | undefined, replaces: Uint8Array[]): Promise<void> {
  const b = db.batch();
  b.put(recKey(v.id), v.bytes);
  if (value !== undefined) {
    b.put(valKey(v.record.valueHash), value);
    b.put(concatKey(Uint8Array.of(NS_VALUE_REFS), v.record.valueHash), Uint8Array.of(0, 0, 0, 1)); // a new value: one user
  }
  b.put(histKey(v.record.key, v.record.hlc, v.id), new Uint8Array(0));
  const heads = (await getHeads(db, v.record.key)).filter((h) => !replaces.some((p) => toHex(p) === toHex(h)));
  b.put(headsKey(v.record.key), encodeHeads([...heads, v.id]));
  await db.write(b);
}

describe("verifyStore", () => {
  test("a clean store verifies ok with the right counts", async () => {
    const c = await cleanStore();
    const r = await verifyImage(c.fs);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.records).toBe(c.writes.length);
    expect(r.history).toBe(c.writes.length);
    expect(r.keys).toBe(KEYS.length);
    expect(r.heads).toBe(KEYS.length);
    expect(r.values).toBe(c.liveValues);
    expect(r).toMatchObject({ pending: 0, waiting: 0, prunedParents: 0, problemCount: 0 });
    expect(c.k3.length).toBeGreaterThanOrEqual(4);
    expect(c.writes.some((v) => v.deleted)).toBe(true);
  });

  test("reading a damaged record or value through the store raises CorruptionError naming key and id", async () => {
    const c = await cleanStore();
    const head = c.k3[0]!;
    expect(head.deleted).toBe(false);
    for (const target of ["record", "value"] as const) {
      const image = c.fs.clone();
      const db = await rawDb(image);
      const k = target === "record" ? recKey(hexBytes(head.id)) : valKey(hexBytes(head.valueHash));
      const bytes = (await db.get(k))!;
      bytes[bytes.length - 1]! ^= 0x10;
      await db.put(k, bytes);
      await db.close();
      const s = await openStore("/db", opts(image, new VirtualClock()));
      const err = await s.get("k3").then(() => undefined, (e: unknown) => e); // A
      expect(err).toBeInstanceOf(CorruptionError);
      expect((err as Error).message).toContain('"k3"');
      expect((err as Error).message).toContain(head.id);
      await s.close();
    }
  });

  type Tamper = (db: DB, c: Clean) => Promise<string[]>;
  const cases: Array<[string, string[], Tamper]> = [
    ["a flipped record byte (still decodes)", ["record-hash"], async (db, c) => {
      const id = hexBytes(c.k3[0]!.id);
      const bytes = (await db.get(recKey(id)))!;
      bytes[bytes.length - 1]! ^= 1; // a byte of the parent id
      await db.put(recKey(id), bytes);
      return ['"k3"', c.k3[0]!.id];
    }],
    ["a flipped record byte (no longer decodes)", ["record-unreadable"], async (db, c) => {
      const id = hexBytes(c.k3[1]!.id);
      const bytes = (await db.get(recKey(id)))!;
      bytes[0]! ^= 4; // the algorithm tag
      await db.put(recKey(id), bytes);
      return [c.k3[1]!.id];
    }],
    ["a flipped value byte", ["record-value-hash", "value-hash"], async (db, c) => {
      const hash = hexBytes(c.k3[0]!.valueHash);
      const bytes = (await db.get(valKey(hash)))!;
      bytes[2]! ^= 0x80;
      await db.put(valKey(hash), bytes);
      return ['"k3"', c.k3[0]!.id, c.k3[0]!.valueHash];
    }],
    ["a missing value", ["record-value-missing"], async (db, c) => {
      await db.delete(valKey(hexBytes(c.k3[0]!.valueHash)));
      return ['"k3"', c.k3[0]!.id, c.k3[0]!.valueHash]; // other keys share the value
    }],
    ["a value under the wrong hash", ["value-hash", "value-refs-missing"], async (db) => {
      await db.put(valKey(sha256(enc.encode("something else"))), enc.encode("not that"));
      return [toHex(sha256(enc.encode("something else")))];
    }],
    ["a value moved to the wrong hash", ["record-value-missing", "value-hash", "value-refs-missing"], async (db, c) => {
      const hash = hexBytes(c.k3[0]!.valueHash);
      const bytes = (await db.get(valKey(hash)))!;
      await db.delete(valKey(hash));
      await db.put(valKey(sha256(enc.encode("elsewhere"))), bytes);
      return ['"k3"', c.k3[0]!.id, c.k3[0]!.valueHash, toHex(sha256(enc.encode("elsewhere")))];
    }],
    // Deleting a live record leaves its value's reference count one too high: found too.
    ["a missing parent record (history entry kept)", ["history-dangling", "parent-missing", "value-refs-count"], async (db, c) => {
      expect(c.k3[1]!.deleted).toBe(false);
      await db.delete(recKey(hexBytes(c.k3[1]!.id)));
      return ['"k3"', c.k3[0]!.id, c.k3[1]!.id, c.k3[1]!.valueHash];
    }],
    ["a missing parent record and its history entry", ["parent-missing", "value-refs-count"], async (db, c) => {
      await db.delete(recKey(hexBytes(c.k3[1]!.id)));
      await db.delete(histKeyOf(c.k3[1]!));
      return ['"k3"', c.k3[0]!.id, c.k3[1]!.id, c.k3[1]!.valueHash];
    }],
    ["a head pointing to another key's record", ["head-other-key"], async (db, c) => {
      const other = c.writes.find((v) => toHex(v.key) === toHex(enc.encode("k4")))!;
      await editHeads(db, enc.encode("k3"), [hexBytes(other.id)]);
      return ['"k3"', '"k4"', other.id];
    }],
    ["a head naming no record", ["head-dangling"], async (db) => {
      await editHeads(db, enc.encode("k3"), [sha256(enc.encode("nobody"))]);
      return ['"k3"', toHex(sha256(enc.encode("nobody")))];
    }],
    ["a missing head (a version without children not listed)", ["head-missing"], async (db, c) => {
      await editHeads(db, enc.encode("k3"), [], [hexBytes(c.k3[0]!.id)]);
      return ['"k3"', c.k3[0]!.id];
    }],
    ["an extra head (a version with a child listed as head)", ["head-extra"], async (db, c) => {
      await editHeads(db, enc.encode("k3"), [hexBytes(c.k3[2]!.id)]);
      return ['"k3"', c.k3[2]!.id, c.k3[1]!.id];
    }],
    ["a history entry with a wrong HLC", ["history-hlc", "history-missing"], async (db, c) => {
      const v = c.k3[1]!;
      const hlc = parseHlc(v.hlc);
      await db.delete(histKeyOf(v));
      await db.put(histKey(v.key, { ms: hlc.ms, counter: hlc.counter + 1 }, hexBytes(v.id)), new Uint8Array(0));
      return ['"k3"', v.id];
    }],
    ["a record without history (a middle version)", ["history-missing", "history-order"], async (db, c) => {
      await db.delete(histKeyOf(c.k3[1]!));
      return ['"k3"', c.k3[1]!.id];
    }],
    ["a record without history (the head)", ["head-dangling", "history-missing"], async (db, c) => {
      await db.delete(histKeyOf(c.k3[0]!));
      return ['"k3"', c.k3[0]!.id];
    }],
    ["the clock's high-water mark below a version this node wrote", ["clock-behind"], async (db, c) => {
      const newest = c.writes[c.writes.length - 1]!;
      await db.put(Uint8Array.of(0x00, 0x68), encodeHlc({ ms: parseHlc(newest.hlc).ms - 1, counter: 0 }));
      return [newest.id];
    }],
    ["a reference count too low", ["value-refs-count"], async (db, c) => {
      const hash = hexBytes(c.k3[0]!.valueHash);
      await db.put(concatKey(Uint8Array.of(NS_VALUE_REFS), hash), Uint8Array.of(0, 0, 0, 1));
      return [c.k3[0]!.valueHash];
    }],
    ["a history entry naming another key's version", ["history-dangling"], async (db, c) => {
      const other = c.writes.find((v) => toHex(v.key) === toHex(enc.encode("k4")))!;
      await db.put(histKey(enc.encode("k3"), parseHlc(other.hlc), hexBytes(other.id)), new Uint8Array(0));
      return ['"k3"', '"k4"', other.id];
    }],
  ];

  for (const [name, expected, tamper] of cases) {
    test(`damage is found and named: ${name}`, async () => {
      const c = await cleanStore();
      const image = c.fs.clone();
      const db = await rawDb(image);
      const names = await tamper(db, c);
      const r = await verifyStore(db, sha256);
      await db.close();
      expect(r.ok).toBe(false);
      expect(kinds(r), r.problems.join("\n")).toEqual(expected);
      // One problem names everything involved (key, version, other key or parent); each names at least one of them.
      const listing = r.problems.join("\n");
      const naming = (p: string): number => names.filter((n) => p.includes(n)).length; // A
      expect(Math.max(...r.problems.map(naming)), `a problem naming ${names.join(", ")} in:\n${listing}`).toBeGreaterThanOrEqual(Math.min(names.length, 3));
      for (const p of r.problems) expect(names.some((n) => p.includes(n)), p).toBe(true);
      // The same after a reopen (from tables, not the memtable).
      expect(kinds(await verifyImage(image))).toEqual(expected);
    });
  }

  test("divergent heads and a merge (ingested) verify ok; a parent not older than its child is found", async () => {
    const c = await cleanStore();
    const image = c.fs.clone();
    const clock = new VirtualClock(1_700_000_001_000);
    const s = await openStore("/db", opts(image, clock));
    const key = enc.encode("k3");
    const head = hexBytes(c.k3[0]!.id);
    const t = parseHlc(c.k3[0]!.hlc).ms;
    const a = craft(key, [head], t + 10, enc.encode("left"));
    const b = craft(key, [head], t + 11, enc.encode("right"));
    const m = craft(key, [a.id, b.id], t + 20, enc.encode("merged"));
    // The merge arrives first: held until both parents are here.
    await s.applyVersions([{ record: m.bytes, value: enc.encode("merged") }]);
    await s.applyVersions([{ record: a.bytes, value: enc.encode("left") }]);
    await s.close();
    let r = await verifyImage(image);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, heads: KEYS.length, pending: 1, waiting: 1, records: c.writes.length + 1 });
    const s2 = await openStore("/db", opts(image, clock));
    await s2.applyVersions([{ record: b.bytes, value: enc.encode("right") }]);
    expect((await s2.heads("k3")).map((v) => v.id)).toEqual([toHex(m.id)]);
    await s2.close();
    r = await verifyImage(image);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, heads: KEYS.length, pending: 0, waiting: 0, records: c.writes.length + 3 });
    // Divergent: two children of the merge, both heads.
    const d1 = craft(key, [m.id], t + 30, enc.encode("d1"));
    const d2 = craft(key, [m.id], t + 31, enc.encode("d2"));
    const s3 = await openStore("/db", opts(image, clock));
    await s3.applyVersions([{ record: d1.bytes, value: enc.encode("d1") }, { record: d2.bytes, value: enc.encode("d2") }]);
    expect((await s3.entry("k3"))!.conflicts.length).toBe(1);
    await s3.close();
    r = await verifyImage(image);
    expect(r.problems).toEqual([]);
    expect(r.heads).toBe(KEYS.length + 1);
    // A child whose timestamp is not above its parent's breaks history order (written raw: ingest would not link it so).
    const db = await rawDb(image);
    const late = craft(key, [d2.id], t + 31, enc.encode("late"));
    await link(db, late, enc.encode("late"), [d2.id]);
    r = await verifyStore(db, sha256);
    expect(kinds(r)).toEqual(["history-order"]);
    expect(r.problems[0]).toContain(toHex(d2.id));
    await db.close();
  });

  test("held (pending) records and their waiting entries are checked", async () => {
    const c = await cleanStore();
    const image = c.fs.clone();
    const key = enc.encode("k2");
    const absent = craft(key, [], 1_600_000_000_000, enc.encode("never sent"));
    const known = hexBytes(c.writes.find((v) => toHex(v.key) === toHex(key))!.id);
    const p = craft(key, [absent.id, known], 1_700_000_000_500, enc.encode("p"));
    const s = await openStore("/db", opts(image, new VirtualClock(1_700_000_001_000)));
    expect(await s.applyVersions([{ record: p.bytes, value: enc.encode("p") }])).toMatchObject({ held: 1 });
    await s.close();
    const db = await rawDb(image);
    let r = await verifyStore(db, sha256);
    expect(r.problems).toEqual([]);
    expect(r).toMatchObject({ ok: true, pending: 1, waiting: 1 });
    // A waiting entry on a parent that has arrived, and none for the one that has not.
    await db.delete(concatKey(Uint8Array.of(NS_WAITING), absent.id, p.id));
    await db.put(concatKey(Uint8Array.of(NS_WAITING), known, p.id), new Uint8Array(0));
    r = await verifyStore(db, sha256);
    expect(kinds(r)).toEqual(["pending-waiting", "waiting-stale"]);
    expect(r.problems.every((x) => x.includes(toHex(p.id)))).toBe(true);
    await db.delete(concatKey(Uint8Array.of(NS_WAITING), known, p.id));
    await db.put(concatKey(Uint8Array.of(NS_WAITING), absent.id, p.id), new Uint8Array(0));
    // Its value missing; a held record whose parents are all linked; a waiting entry without its child.
    await db.delete(valKey(sha256(enc.encode("p"))));
    const ready = craft(key, [known], 1_800_000_000_001);
    await db.put(concatKey(Uint8Array.of(NS_PENDING), ready.id), ready.bytes);
    await db.put(concatKey(Uint8Array.of(NS_WAITING), absent.id, sha256(enc.encode("orphan"))), new Uint8Array(0));
    r = await verifyStore(db, sha256);
    expect(kinds(r)).toEqual(["pending-ready", "record-value-missing", "waiting-dangling"]);
    // A damaged held record.
    const bad = p.bytes.slice();
    bad[bad.length - 1]! ^= 1;
    await db.put(concatKey(Uint8Array.of(NS_PENDING), p.id), bad);
    r = await verifyStore(db, sha256);
    expect(kinds(r)).toContain("pending-hash");
    await db.close();
  });

  test("pruned history verifies ok (the key's prune horizon); without it, the missing parent is found", async () => {
    const c = await cleanStore();
    const image = c.fs.clone();
    const s = await openStore("/db", opts(image, new VirtualClock(1_700_000_001_000)));
    const pr = await s.prune({ versions: 2 });
    expect(pr.versionsRemoved).toBeGreaterThan(0);
    await s.close();
    const db = await rawDb(image);
    let r = await verifyStore(db, sha256);
    expect(r.problems).toEqual([]);
    expect(r.ok).toBe(true);
    expect(r.records).toBe(c.writes.length - pr.versionsRemoved);
    expect(r.prunedParents).toBeGreaterThan(0);
    expect(r.horizons).toBeGreaterThan(0);
    // The isPruned option overrides the horizon rule, and reads at the verify's snapshot.
    const seen: string[] = [];
    r = await verifyStore(db, sha256, {
      isPruned: async (id, key, read) => { // A
        seen.push(toHex(id));
        expect(await read(keyPrefixFor(0x08, key))).toBeDefined();
        return false;
      },
    });
    expect(kinds(r)).toEqual(["parent-missing"]);
    expect(r.problemKinds["parent-missing"]).toBe(seen.length);
    expect(r.prunedParents).toBe(0);
    await db.close();
  });

  test("the report keeps the first maxProblems problems and counts them all", async () => {
    const c = await cleanStore();
    const image = c.fs.clone();
    const db = await rawDb(image);
    for await (const [k] of db.iterate({ prefix: Uint8Array.of(NS_VALUE), values: false })) await db.delete(k);
    const r = await verifyStore(db, sha256, { maxProblems: 5 });
    expect(r.problems.length).toBe(5);
    expect(r.problemCount).toBe(c.writes.filter((v) => !v.deleted).length);
    expect(r.problemKinds).toEqual({ "record-value-missing": r.problemCount });
    await expect(verifyStore(db, sha256, { maxProblems: -1 })).rejects.toThrow(/maxProblems/);
    await db.close();
  });

  test("verify reads one snapshot: a write landing meanwhile is not half seen", async () => {
    const c = await cleanStore();
    const image = c.fs.clone();
    const db = await rawDb(image);
    const key = enc.encode("k1");
    const heads = await getHeads(db, key);
    const v = craft(key, heads, 1_900_000_000_000, enc.encode("during verify"));
    let settled = false;
    const running = verifyStore(db, sha256).finally(() => (settled = true)); // A
    await link(db, v, enc.encode("during verify"), heads);
    expect(settled).toBe(false); // the write really landed while verify was reading
    const r = await running;
    expect(r.problems).toEqual([]);
    expect(r.records).toBe(c.writes.length);
    const after = await verifyStore(db, sha256);
    expect(after).toMatchObject({ ok: true, records: c.writes.length + 1 });
    await db.close();
  });

  test("damage the engine finds (a flipped bit in a table) is reported, not thrown", async () => {
    const c = await cleanStore();
    const tables = c.fs.list("/db").filter((n) => n.endsWith(".sst"));
    expect(tables.length).toBeGreaterThan(0);
    let found = 0;
    for (const offset of [16, 200, 600]) {
      const image = c.fs.clone();
      image.flipBit(`/db/${tables[0]}`, offset, 3);
      const db = await rawDb(image);
      const r = await verifyStore(db, sha256);
      await db.close();
      if (!r.ok) found++;
      expect(r.problemKinds.engine ?? 0, r.problems.join("\n")).toBeGreaterThan(0);
    }
    expect(found).toBe(3);
  });
});
