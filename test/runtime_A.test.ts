/**
 * Proves which runtime runs the suite: `npm test` sets OURO_RUNTIME for each
 * of its three runs, and vitest must genuinely run inside that runtime.
 */
import { expect, test } from "vitest";

function detectRuntime(): string {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Bun !== undefined) return "bun";
  if (g.Deno !== undefined) return "deno";
  return "node";
}

test("the suite runs in the runtime npm test asked for", () => {
  const runtime = detectRuntime();
  console.log(`runtime: ${runtime} (typeof Bun = ${typeof (globalThis as { Bun?: unknown }).Bun}, typeof Deno = ${typeof (globalThis as { Deno?: unknown }).Deno})`);
  const expected = process.env.OURO_RUNTIME;
  if (expected !== undefined) expect(runtime).toBe(expected);
  expect(["node", "bun", "deno"]).toContain(runtime);
});
