import { expect, test } from "vitest";
import { fuzzSstable } from "../../../fuzz/sstable.ts";

test("sstable reader over 300 random, damaged and resealed tables: right answers or CorruptionError, nothing else", async () => {
  const stats = await fuzzSstable(20_260_301, 300, Number.POSITIVE_INFINITY, () => 0);
  expect(stats.cases).toBe(300);
  expect(stats.ok).toBeGreaterThan(20);
  expect(stats.corrupt).toBeGreaterThan(100);
});
