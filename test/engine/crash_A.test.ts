/**
 * Crash tests on the crashable in-memory FS: a workload (single puts and
 * deletes, batches, concurrent groups, sync and non-sync, a close and reopen)
 * is cut by a power loss after every single FS call it makes, in turn. Each
 * time the survivor is reopened (and, for a second cut, crashed again during
 * that recovery) and must hold exactly the effect of a prefix of the
 * attempted batches: never a partial batch, and at least every batch
 * acknowledged with sync: true.
 */
import { describe, expect, test } from "vitest";
import { MemFileSystem, SeededRandom, openDB, silentLog, type DB } from "../../src/index.ts";
import { applyOps, dbContents, submitOps, modelIterate, type Op } from "../support/model.ts";

interface Attempt {
  ops: Op[];
  sync: boolean;
  acked: boolean;
}

function randomOps(rng: SeededRandom, max: number): Op[] {
  const n = 1 + rng.int(max);
  return Array.from({ length: n }, () => {
    const key = new Uint8Array([0x6b, rng.int(12)]);
    return rng.int(4) === 0 ? { type: "del" as const, key } : { type: "put" as const, key, value: rng.bytes(new Uint8Array(1 + rng.int(40))) };
  });
}

function submit(db: DB, a: Attempt): Promise<void> {
  return submitOps(db, a.ops, a.sync);
}

/** Runs the workload until it finishes or the FS dies; records every attempt in call order. */
async function workload(fs: MemFileSystem, seed: number, attempts: Attempt[]): Promise<void> {
  const rng = new SeededRandom(seed);
  let db: DB | undefined;
  try {
    db = await openDB("/db", { fs, log: silentLog() });
    for (let step = 0; step < 24; step++) {
      if (step === 12) {
        await db.close();
        db = await openDB("/db", { fs, log: silentLog() });
      }
      const group = rng.int(3) === 0 ? 2 + rng.int(4) : 1;
      const mine = Array.from({ length: group }, () => ({ ops: randomOps(rng, rng.int(2) === 0 ? 1 : 6), sync: rng.int(3) === 0, acked: false }));
      attempts.push(...mine);
      const results = await Promise.allSettled(mine.map((a) => submit(db!, a).then(() => { a.acked = true; })));
      const failed = results.find((r) => r.status === "rejected");
      if (failed) throw (failed as PromiseRejectedResult).reason;
    }
    await db.close();
  } catch {
    // The machine died (CrashedError) somewhere in the workload: what survives is checked by the caller.
  }
}

/** Checks the recovered database against the attempts; returns the prefix length it holds. */
async function checkRecovered(db: DB, attempts: Attempt[], where: string): Promise<number> {
  const seq = db.stats().sequence;
  let prefix = 0;
  let entries = 0;
  while (prefix < attempts.length && entries + attempts[prefix]!.ops.length <= seq) entries += attempts[prefix++]!.ops.length;
  expect(entries, `${where}: sequence ${seq} must end on a batch boundary`).toBe(seq);
  let lastSyncAcked = -1;
  attempts.forEach((a, i) => { if (a.sync && a.acked) lastSyncAcked = i; });
  expect(prefix, `${where}: every write acknowledged with sync must survive`).toBeGreaterThan(lastSyncAcked);
  const model = new Map<string, string>();
  for (let i = 0; i < prefix; i++) applyOps(model, attempts[i]!.ops);
  expect(await dbContents(db), `${where}: contents must equal the first ${prefix} batches`).toEqual(modelIterate(model, {}));
  return prefix;
}

async function crashEveryCall(seed: number): Promise<number> {
  const probe = new MemFileSystem();
  await workload(probe, seed, []);
  const totalCalls = probe.callCount;
  expect(totalCalls).toBeGreaterThan(50);
  for (let n = 1; n <= totalCalls; n++) {
    const fs = new MemFileSystem();
    fs.armCrash(n, seed * 7919 + n);
    const attempts: Attempt[] = [];
    await workload(fs, seed, attempts);
    const survivor = fs.lastCrash();
    expect(survivor, `crash point ${n} of ${totalCalls} must be reached`).toBeDefined();
    const where = `seed ${seed}, crash at call ${n}/${totalCalls}`;
    // A second power loss in the middle of recovery must not change the outcome.
    const again = survivor!.clone();
    const rng = new SeededRandom(seed + n);
    again.armCrash(1 + rng.int(12), n);
    let reopened: DB | undefined;
    try {
      reopened = await openDB("/db", { fs: again, log: silentLog() });
      await reopened.put("extra", "write", { sync: true });
      await reopened.close();
    } catch { /* crashed during recovery or the extra write */ }
    const survivor2 = again.lastCrash() ?? again;
    const db = await openDB("/db", { fs: survivor, log: silentLog() });
    const prefix = await checkRecovered(db, attempts, where);
    await db.close();
    if (again.lastCrash() !== undefined) {
      const db2 = await openDB("/db", { fs: survivor2, log: silentLog() });
      const extra = await db2.get("extra");
      if (extra === undefined) expect(await checkRecovered(db2, attempts, `${where}, crashed again in recovery`)).toBe(prefix);
      await db2.close();
    }
  }
  return totalCalls;
}

describe("crash at every FS call", () => {
  for (const seed of [1, 2, 3]) {
    test(`workload seed ${seed}`, async () => {
      expect(await crashEveryCall(seed)).toBeGreaterThan(0);
    });
  }
});
