/**
 * Crash at every FS call of flush, compaction and manifest rotation, strategy
 * "leveled" (the workload, the choice of crash points and the checks are in
 * crash-workload.ts). One file per strategy so the runner spreads them over cores.
 */
import { describe, expect, test } from "vitest";
import { crashAtPoints, planCrashPoints } from "./crash-workload.ts";

const BUDGET = 700;

describe("LSM crash at every flush / compaction / manifest FS call: leveled", () => {
  test("seed 1", async () => {
    const plan = await planCrashPoints("leveled", 1, BUDGET);
    // One line for the record: how many calls the workload made and how many were crash points.
    console.info(`crash-leveled: ${plan.totalCalls} FS calls, ${plan.points.length} crash points (${plan.lsmPoints} state-changing non-WAL calls, all; WAL data every ${plan.walStride}th; reads every ${plan.readStride}th)`);
    expect(plan.lsmPoints).toBeGreaterThan(0);
    await crashAtPoints("leveled", 1, plan, 7);
  });
});
