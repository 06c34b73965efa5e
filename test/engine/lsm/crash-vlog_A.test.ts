/**
 * Crash at every FS call of flush, compaction, manifest rotation and every value-log call, strategy
 * "leveled" with a value log (values of 100 bytes or more; the workload, the choice of crash points and the checks are in
 * crash-workload.ts). One file per strategy so the runner spreads them over cores.
 */
import { describe, expect, test } from "vitest";
import { crashAtPoints, planCrashPoints } from "./crash-workload.ts";

const BUDGET = 700;

describe("LSM crash at every flush / compaction / manifest FS call: leveled+vlog", () => {
  test("seed 1", async () => {
    const plan = await planCrashPoints("leveled+vlog", 1, BUDGET);
    // One line for the record: how many calls the workload made and how many were crash points.
    console.info(`crash-vlog: ${plan.totalCalls} FS calls (${plan.vlogWrites} value-log writes and syncs), ${plan.points.length} crash points (${plan.lsmPoints} state-changing non-WAL calls, all; WAL data every ${plan.walStride}th; reads every ${plan.readStride}th)`);
    expect(plan.lsmPoints).toBeGreaterThan(0);
    // The workload must really use the value log: records written and synced in several files.
    expect(plan.vlogWrites).toBeGreaterThan(20);
    await crashAtPoints("leveled+vlog", 1, plan, 7);
  });
});
