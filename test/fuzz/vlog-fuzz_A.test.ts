import { expect, test } from "vitest";
import { fuzzVlog, fuzzVlogCase } from "../../fuzz/vlog.ts";

test("value log over 1500 damaged files: the scan yields only written records, reads give the written value or a CorruptionError, pointer bytes decode canonically or not at all", async () => {
  const stats = await fuzzVlog(20_261_125, 1500, Number.POSITIVE_INFINITY, () => 0);
  expect(stats.cases).toBe(1500);
  // Every outcome the target tells apart was reached, so none of its checks ran idle.
  for (const k of ["clean", "torn", "corrupt", "recordsYielded", "readsOk", "readsCorrupt", "pointersDecoded", "pointersRefused"] as const) {
    expect(stats[k], k).toBeGreaterThan(0);
  }
  expect(stats.clean + stats.torn + stats.corrupt).toBe(1500);
});

test("a case replays from its seed", async () => {
  expect(await fuzzVlogCase(42)).toEqual(await fuzzVlogCase(42));
});
