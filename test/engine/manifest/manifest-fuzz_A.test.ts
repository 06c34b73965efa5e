import { expect, test } from "vitest";
import { fuzzManifest, fuzzManifestCase } from "../../../fuzz/manifest.ts";

test("manifest recovery over 300 random and mutated MANIFEST/CURRENT files: a real state or a CorruptionError, nothing else", async () => {
  const stats = await fuzzManifest(20_260_301, 300, Number.POSITIVE_INFINITY, () => 0);
  expect(stats.cases).toBe(300);
  expect(stats.ok).toBeGreaterThan(20);
  expect(stats.corrupt).toBeGreaterThan(20);
});

test("a fuzz case replays: same seed, same outcome", async () => {
  expect(await fuzzManifestCase(42)).toBe(await fuzzManifestCase(42));
});
