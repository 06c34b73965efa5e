/**
 * Crash tests: a workload (create, then edits with a tiny rotation size so
 * that manifest rotations happen between and during them, plus a group of
 * concurrent edits) is cut by a power loss at every single FS call in turn,
 * with several survivor images each. The survivor must recover to the state
 * after exactly the acknowledged edits, or those plus the one in flight;
 * never a mix, never an unreadable CURRENT. Then recovery itself is cut at
 * every call and must still recover the same state.
 */
import { describe, expect, test } from "vitest";
import { MemFileSystem } from "../../../src/platform/mem-fs.ts";
import { SeededRandom } from "../../../src/platform/random.ts";
import { VersionSet } from "../../../src/engine/manifest/version-set.ts";
import type { VersionEdit } from "../../../src/engine/manifest/version-edit.ts";
import { metaFor, randomEdit, snapshotOf, type SetSnapshot } from "./helpers.ts";

const DIR = "/db";
const EDITS = 10;

interface Run {
  created: boolean;
  /** Edits whose logAndApply resolved, in order. */
  acked: number;
  /** State after create (index 0) and after each edit (index i). */
  states: SetSnapshot[];
}

async function workload(fs: MemFileSystem, seed: number, rotateBytes: number): Promise<Run> {
  const run: Run = { created: false, acked: 0, states: [] };
  const rng = new SeededRandom(seed);
  try {
    fs.mkdir(DIR);
    await fs.syncDir("/");
    const vs = await VersionSet.create(fs, DIR, rng, { manifestRotateBytes: rotateBytes });
    run.created = true;
    run.states.push(snapshotOf(vs));
    for (let i = 0; i < EDITS; i++) {
      if (i === 6) {
        // Two concurrent edits, built before either is applied (disjoint: new files only).
        const a: VersionEdit = { added: [{ level: 0, ...fileFor(vs.newFileNumber()) }] };
        const b: VersionEdit = { added: [{ level: 0, ...fileFor(vs.newFileNumber()) }], lastSeq: vs.lastSeq + 3 };
        const pa = vs.logAndApply(a).then(() => { run.states.push(snapshotOf(vs)); run.acked++; });
        const pb = vs.logAndApply(b).then(() => { run.states.push(snapshotOf(vs)); run.acked++; });
        await Promise.all([pa, pb]);
        i++;
        continue;
      }
      await vs.logAndApply(randomEdit(rng, vs));
      run.states.push(snapshotOf(vs));
      run.acked++;
    }
    await vs.close();
  } catch {
    // The machine died somewhere: the caller checks what survived.
  }
  return run;
}

function fileFor(n: number): { fileNumber: number; sizeBytes: number; smallestKey: string; largestKey: string; minSeq: number; maxSeq: number } {
  // Disjoint key ranges (as metaFor): a later random edit may move this file to a level >= 1.
  return { ...metaFor(n), sizeBytes: n, minSeq: 1, maxSeq: 2 };
}

async function recoverOrUndefined(fs: MemFileSystem): Promise<SetSnapshot | "none"> {
  if (VersionSet.probe(fs, DIR) !== "current") return "none";
  const vs = await VersionSet.recover(fs, DIR, new SeededRandom(99), { manifestRotateBytes: 1 << 20 });
  const s = snapshotOf(vs);
  await vs.close();
  return s;
}

async function crashEveryCall(seed: number, rotateBytes: number): Promise<{ points: number; midEdit: number }> {
  const probeFs = new MemFileSystem();
  const full = await workload(probeFs, seed, rotateBytes);
  expect(full.acked).toBe(EDITS);
  const totalCalls = probeFs.callCount;
  let midEdit = 0;
  for (let n = 1; n <= totalCalls; n++) {
    for (let image = 0; image < 3; image++) {
      const fs = new MemFileSystem();
      fs.armCrash(n, seed * 1000 + image);
      const run = await workload(fs, seed, rotateBytes);
      const survivor = fs.lastCrash();
      expect(survivor, `crash at call ${n} must have happened`).toBeDefined();
      const where = `seed ${seed}, crash at call ${n}/${totalCalls}, image ${image}`;
      const got = await recoverOrUndefined(survivor!.clone());
      if (!run.created) {
        if (got !== "none") expect(got, where).toEqual(full.states[0]);
        continue;
      }
      expect(got, `${where}: a created database must recover`).not.toBe("none");
      const allowed = [full.states[run.acked]!, ...(run.acked < EDITS ? [full.states[run.acked + 1]!] : [])];
      expect(allowed, `${where}: acked ${run.acked}`).toContainEqual(got);
      if (run.acked < EDITS && JSON.stringify(got) === JSON.stringify(full.states[run.acked + 1])) midEdit++;
      if (image === 0) await crashDuringRecovery(survivor!, got as SetSnapshot, where);
    }
  }
  return { points: totalCalls, midEdit };
}

/** Cuts the recovery of `survivor` at every call; the next recovery must give `expected` again. */
async function crashDuringRecovery(survivor: MemFileSystem, expected: SetSnapshot, where: string): Promise<void> {
  const probe = survivor.clone();
  const before = probe.callCount;
  await recoverOrUndefined(probe);
  const calls = probe.callCount - before;
  for (let m = 1; m <= calls; m++) {
    const fs = survivor.clone();
    fs.armCrash(m, m);
    await recoverOrUndefined(fs).catch(() => undefined);
    const second = fs.lastCrash();
    if (second === undefined) continue;
    expect(await recoverOrUndefined(second), `${where}, then recovery cut at call ${m}`).toEqual(expected);
  }
}

describe("manifest crash safety", () => {
  test("crash at every FS call of create, logAndApply and rotations: the state before or after the edit in flight", async () => {
    const r = await crashEveryCall(1, 200);
    expect(r.points).toBeGreaterThan(50);
    expect(r.midEdit).toBeGreaterThan(0); // some crashes landed after the edit was durable but before it resolved
  });

  test("same with a rotation on every edit", async () => {
    await crashEveryCall(2, 1);
  });

  test("same without rotations (appends only)", async () => {
    await crashEveryCall(3, 1 << 20);
  });
});
