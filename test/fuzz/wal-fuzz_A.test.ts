import { expect, test } from "vitest";
import { fuzzWal } from "../../fuzz/wal.ts";

test("WAL recovery over 400 random and mutated logs: whole real batches or a CorruptionError, nothing else", async () => {
  const stats = await fuzzWal(20_261_124, 400, Number.POSITIVE_INFINITY, () => 0);
  expect(stats.cases).toBe(400);
  expect(stats.opened).toBeGreaterThan(0);
  expect(stats.corrupt).toBeGreaterThan(0);
});
