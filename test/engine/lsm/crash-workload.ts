/**
 * The crash test of the LSM engine, shared by crash-<strategy>_A.test.ts.
 *
 * A deterministic workload (tiny memtable, blocks and target files, so it
 * flushes and compacts several times; awaited writes, some with sync: true;
 * db.flush(); whole and ranged db.compact(); db.maintain(); one close and
 * reopen, which makes the engine write a new manifest) is cut by a power loss
 * at FS call n, for n over the crash points chosen below. The survivor is
 * reopened and must hold exactly the effect of a prefix of the attempted
 * writes (so: no partial batch, no resurrected deleted key, no reordering),
 * and that prefix must include every write acknowledged as durable (a
 * resolved sync write, or any write issued before a resolved flush()). The
 * recovered database must then pass verify(), take new writes and reopen
 * again with them. For a sample of points, recovery itself is crashed at a
 * random call and the result must recover to the same prefix.
 *
 * Crash points: a probe run through a recording FS lists every FS call with
 * the file it touched, in three classes:
 * - state-changing calls outside WAL data traffic (everything on tables,
 *   manifests and CURRENT; directory syncs, renames, removes; opening and
 *   closing logs): every one is a crash point, so every call of flush,
 *   compaction and manifest rotation that can change the disk is covered;
 * - WAL data calls (append, write, truncate, sync on a `.log`): every
 *   `walStride`-th (the core's own crash test covers the WAL call by call);
 * - read-only calls (read, size, readFile, list, stat): every
 *   `readStride`-th. A crash at a read-only call leaves the same possible
 *   disk images as a crash at the next state-changing call, so these only
 *   add in-memory variety.
 * If the total exceeds `budget`, the two strides grow (alternately) until it
 * fits; the first class is never thinned.
 */
import { expect } from "vitest";
import { MemFileSystem, SeededRandom, openDB, silentLog, type DB, type DBOptions, type FileSystem } from "../../../src/index.ts";
import { applyOps, dbContents, submitOps, hex, modelIterate, type Op } from "../../support/model.ts";
import { compactDB, isReadOnlyCall, isWalDataCall, maintainDB, recordingFs, tinyOptions, type FsCall } from "../../support/lsm-model.ts";

export type Strategy = "leveled" | "tiered" | "mobile" | "leveled+vlog";

/** "+vlog": values of 100 bytes or more (about half the workload's) go to value-log files of at most 4 KiB, so files roll too. */
const VLOG_OPTIONS: DBOptions = { valueThreshold: 100, vlogFileBytes: 4096 };

interface Attempt {
  id: number;
  ops: Op[];
  sync: boolean;
}

interface Run {
  attempts: Attempt[];
  /** Attempts [0, durable) were acknowledged as durable. */
  durable: number;
  /** An awaited engine call that neither resolved nor rejected after the machine died. */
  hung: string | undefined;
}

const enc = new TextEncoder();
const KEYS = 24;

function key(i: number): Uint8Array { // A
  return enc.encode(`k${String(i).padStart(2, "0")}`);
}

/** A value that names its batch: "b<id>|" then filler, so a survivor shows which batch wrote each key. */
function markedValue(id: number, rng: SeededRandom): Uint8Array { // A
  const head = enc.encode(`b${id}|`);
  const v = new Uint8Array(head.length + 20 + rng.int(230));
  v.set(head, 0);
  for (let i = head.length; i < v.length; i++) v[i] = 0x61 + ((id + i) % 26);
  return v;
}

function randomOps(id: number, rng: SeededRandom): Op[] { // A
  const n = 1 + rng.int(6);
  return Array.from({ length: n }, () => {
    const k = key(rng.int(KEYS));
    return rng.int(5) === 0 ? { type: "del" as const, key: k } : { type: "put" as const, key: k, value: markedValue(id, rng) };
  });
}

function submit(db: DB, a: Attempt): Promise<void> { // A
  return submitOps(db, a.ops, a.sync);
}

/**
 * Awaits `p`, but once the machine is dead gives up after 200 macrotask turns
 * (MemFileSystem works in microtasks, so a promise still pending then will
 * never settle) and records the hang instead of blocking the test forever.
 */
async function guarded<T>(fs: MemFileSystem, run: Run, what: string, p: Promise<T>): Promise<T> { // A
  let settled = false;
  const watch = (async (): Promise<void> => { // A
    for (let turns = 0; !settled; ) {
      await new Promise<void>((r) => setTimeout(r, 0));
      if (fs.isCrashed && ++turns >= 200 && !settled) {
        run.hung ??= what;
        throw new Error(`hung after crash: ${what}`);
      }
    }
  })();
  try {
    return await Promise.race([p, watch as Promise<never>]);
  } finally {
    settled = true;
  }
}

export function crashOptions(strategy: Strategy, seed: number): DBOptions { // A
  const vlog = strategy.endsWith("+vlog");
  const base = tinyOptions(vlog ? "leveled" : (strategy as "leveled" | "tiered" | "mobile"));
  return { ...base, ...(vlog ? VLOG_OPTIONS : {}), log: silentLog(), random: new SeededRandom(seed) };
}

/** The workload; stops at the first failure (the crash). Deterministic for a seed. */
async function workload(fs: MemFileSystem, dbFs: FileSystem, strategy: Strategy, seed: number, run: Run): Promise<void> { // A
  const rng = new SeededRandom(seed);
  const g = <T>(what: string, p: Promise<T>): Promise<T> => guarded(fs, run, what, p); // A
  let db: DB | undefined;
  try {
    db = await g("open", openDB("/db", { ...crashOptions(strategy, seed), fs: dbFs }));
    for (let step = 0; step < 60; step++) {
      if (step === 36) {
        await g("close", db.close());
        db = await g("reopen", openDB("/db", { ...crashOptions(strategy, seed), fs: dbFs }));
      }
      const r = rng.int(20);
      if (r === 0) {
        await g("flush", db.flush());
        run.durable = run.attempts.length;
      } else if (r === 1) {
        const lo = rng.int(KEYS);
        await g("compact", compactDB(db, step % 2 === 0 ? undefined : { gte: key(lo), lt: key(lo + 6) }));
      } else if (r === 2) {
        await g("maintain", maintainDB(db));
      } else {
        const a: Attempt = { id: run.attempts.length, ops: [], sync: rng.int(5) === 0 };
        a.ops = randomOps(a.id, rng);
        run.attempts.push(a);
        await g(`write ${a.id}`, submit(db, a));
        if (a.sync) run.durable = run.attempts.length;
      }
    }
    await g("final flush", db.flush());
    run.durable = run.attempts.length;
    await g("final compact", compactDB(db));
    await g("final close", db.close());
  } catch {
    // The machine died (CrashedError) somewhere in the workload: the caller checks what survived.
  }
}

function modelAt(attempts: Attempt[], prefix: number): Map<string, string> { // A
  const m = new Map<string, string>();
  for (let i = 0; i < prefix; i++) applyOps(m, attempts[i]!.ops);
  return m;
}

/** Prefix lengths p (>= 0) whose model equals `rows`. */
function matchingPrefixes(attempts: Attempt[], rows: Array<[string, string]>): number[] { // A
  const want = JSON.stringify(rows);
  const m = new Map<string, string>();
  const out: number[] = [];
  for (let p = 0; p <= attempts.length; p++) {
    if (p > 0) applyOps(m, attempts[p - 1]!.ops);
    if (JSON.stringify(modelIterate(m, {})) === want) out.push(p);
  }
  return out;
}

/** Names the first difference between `rows` and the model at the durable point, for failure messages. */
function describeMismatch(attempts: Attempt[], durable: number, rows: Array<[string, string]>): string { // A
  const got = new Map(rows);
  const m = modelAt(attempts, durable);
  const dec = (h: string): string => new TextDecoder().decode(new Uint8Array((h.match(/../g) ?? []).map((x) => parseInt(x, 16))).subarray(0, 12)); // A
  const diffs: string[] = [];
  for (const k of new Set([...m.keys(), ...got.keys()])) {
    if (m.get(k) !== got.get(k)) diffs.push(`${dec(k)}: durable model ${m.has(k) ? dec(m.get(k)!) : "absent"}, recovered ${got.has(k) ? dec(got.get(k)!) : "absent"}`);
  }
  return `${attempts.length} attempts, durable ${durable}; keys differing from the durable state: ${diffs.slice(0, 6).join("; ")}`;
}

/** Opens `fs`, checks the prefix rule and verify(); returns the prefix it holds and leaves the DB open. */
async function recoverAndCheck(fs: MemFileSystem, strategy: Strategy, seed: number, run: Run, where: string): Promise<{ db: DB; prefix: number }> { // A
  const db = await openDB("/db", { ...crashOptions(strategy, seed + 1), fs });
  const rows = await dbContents(db);
  const prefixes = matchingPrefixes(run.attempts, rows);
  const ok = prefixes.filter((p) => p >= run.durable);
  expect(ok.length, `${where}: recovered state must be a prefix of the writes that includes every durable one (${describeMismatch(run.attempts, run.durable, rows)}; matching prefixes: ${prefixes.join(",") || "none"})`).toBeGreaterThan(0);
  expect(await dbContents(db, { reverse: true }), `${where}: reverse iteration`).toEqual([...rows].reverse());
  for (const [k, v] of rows.slice(0, 8)) expect(hex((await db.get(new Uint8Array((k.match(/../g) ?? []).map((x) => parseInt(x, 16)))))!), `${where}: get`).toBe(v);
  const report = await db.verify();
  expect(report.ok, `${where}: verify after recovery: ${JSON.stringify(report.files.filter((f) => f.problems.length > 0))}`).toBe(true);
  return { db, prefix: ok[ok.length - 1]! };
}

/** After recovery: new writes are taken, survive a reopen, and the database verifies. */
async function writeAndReopen(db: DB, fs: MemFileSystem, strategy: Strategy, seed: number, run: Run, prefix: number, where: string): Promise<void> { // A
  const post: Attempt = { id: -1, ops: [{ type: "put", key: enc.encode("post"), value: enc.encode("after-crash") }, { type: "del", key: key(3) }], sync: true };
  await submit(db, post);
  for (let i = 0; i < 12; i++) await db.put(`post${i}`, "p".repeat(300));
  await db.flush();
  await db.close();
  const expected = modelAt(run.attempts, prefix);
  applyOps(expected, post.ops);
  for (let i = 0; i < 12; i++) expected.set(hex(enc.encode(`post${i}`)), hex(enc.encode("p".repeat(300))));
  const db2 = await openDB("/db", { ...crashOptions(strategy, seed + 2), fs });
  try {
    expect(await dbContents(db2), `${where}: after new writes and a reopen`).toEqual(modelIterate(expected, {}));
    const report = await db2.verify();
    expect(report.ok, `${where}: verify after reopen: ${JSON.stringify(report.files.filter((f) => f.problems.length > 0))}`).toBe(true);
  } finally {
    await db2.close();
  }
}

export interface CrashPlan {
  totalCalls: number;
  points: number[];
  /** State-changing calls outside WAL data traffic: all of them are crash points. */
  lsmPoints: number;
  walStride: number;
  readStride: number;
  /** Calls that wrote or synced a `.vlog` file (all of them crash points). */
  vlogWrites: number;
}

/** Probe run: lists every FS call and chooses the crash points (see the module comment). */
export async function planCrashPoints(strategy: Strategy, seed: number, budget: number): Promise<CrashPlan> { // A
  const probe = new MemFileSystem();
  const calls: FsCall[] = [];
  const run: Run = { attempts: [], durable: 0, hung: undefined };
  await workload(probe, recordingFs(probe, calls), strategy, seed, run);
  expect(run.hung, "the probe workload must not hang").toBeUndefined();
  expect(run.attempts.length, "the probe workload must run to its end").toBe(run.durable);
  expect(calls.length, "the recording FS must see exactly the calls MemFileSystem counts").toBe(probe.callCount);
  const reads = calls.filter(isReadOnlyCall).map((c) => c.n);
  const wal = calls.filter((c) => !isReadOnlyCall(c) && isWalDataCall(c)).map((c) => c.n);
  const lsm = calls.filter((c) => !isReadOnlyCall(c) && !isWalDataCall(c)).map((c) => c.n);
  let walStride = 2;
  let readStride = 8;
  const size = (): number => lsm.length + Math.ceil(wal.length / walStride) + Math.ceil(reads.length / readStride); // A
  for (let i = 0; size() > budget && i < 100_000; i++) {
    if (readStride < reads.length && (i % 2 === 0 || walStride >= wal.length)) readStride++;
    else if (walStride < wal.length) walStride++;
    else break;
  }
  const points = [...lsm, ...wal.filter((_, i) => i % walStride === 0), ...reads.filter((_, i) => i % readStride === 0)].sort((a, b) => a - b);
  const vlogWrites = calls.filter((c) => c.path.endsWith(".vlog") && (c.op === "write" || c.op === "sync")).length;
  return { totalCalls: calls.length, points, lsmPoints: lsm.length, walStride, readStride, vlogWrites };
}

/** Crashes the workload at every planned point and checks each survivor; every `recrashEvery`-th point also crashes recovery. */
export async function crashAtPoints(strategy: Strategy, seed: number, plan: CrashPlan, recrashEvery: number): Promise<void> { // A
  for (const [i, n] of plan.points.entries()) {
    const fs = new MemFileSystem();
    fs.armCrash(n, seed * 7919 + n);
    const run: Run = { attempts: [], durable: 0, hung: undefined };
    await workload(fs, fs, strategy, seed, run);
    const where = `${strategy}, seed ${seed}, crash at call ${n}/${plan.totalCalls}`;
    expect(run.hung, `${where}: an engine call must settle (reject) after the crash, not hang`).toBeUndefined();
    const survivor = fs.lastCrash();
    expect(survivor, `${where}: the crash point must be reached`).toBeDefined();
    const again = i % recrashEvery === 0 ? survivor!.clone() : undefined;
    try {
      const { db, prefix } = await recoverAndCheck(survivor!, strategy, seed, run, where);
      await writeAndReopen(db, survivor!, strategy, seed, run, prefix, where);
      if (again !== undefined) await crashDuringRecovery(again, strategy, seed + n, run, prefix, where);
    } catch (e) {
      // Name the crash point on engine exceptions too (assertion messages already carry it).
      if (e instanceof Error && !e.message.includes(where)) e.message = `${where}: ${e.message}`;
      throw e;
    }
  }
}

/** Crashes recovery of `image` at a random call, then recovers again: the same prefix must come back. */
async function crashDuringRecovery(image: MemFileSystem, strategy: Strategy, seed: number, run: Run, prefix: number, where: string): Promise<void> { // A
  const measure = image.clone();
  const m = await openDB("/db", { ...crashOptions(strategy, seed), fs: measure });
  await m.close();
  const rng = new SeededRandom(seed);
  image.armCrash(1 + rng.int(Math.max(1, measure.callCount)), seed);
  try {
    const db = await openDB("/db", { ...crashOptions(strategy, seed), fs: image });
    await db.close();
  } catch { /* crashed in recovery, as planned */ }
  const survivor = image.lastCrash() ?? image;
  const db2 = await openDB("/db", { ...crashOptions(strategy, seed), fs: survivor });
  try {
    expect(await dbContents(db2), `${where}, crashed again in recovery`).toEqual(modelIterate(modelAt(run.attempts, prefix), {}));
    expect((await db2.verify()).ok, `${where}, crashed again in recovery: verify`).toBe(true);
  } finally {
    await db2.close();
  }
}
