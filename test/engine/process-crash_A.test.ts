import { afterAll, describe, expect, test } from "vitest";
import { join } from "node:path";
import { crashCycle } from "../support/process-crash.ts";
import { tempDir } from "../support/tmp.ts";

const CYCLES = 20;

describe("real-process crash (SIGKILL)", () => {
  const t = tempDir("ouro-kill-");
  afterAll(() => t.cleanup());

  test(`${CYCLES} kill cycles lose no acknowledged write and leave no partial batch`, async () => {
    const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : typeof (globalThis as { Deno?: unknown }).Deno !== "undefined" ? "deno" : "node";
    console.log(`process crash test on ${runtime}`);
    const seed0 = 1000;
    let acked = 0;
    for (let i = 0; i < CYCLES; i++) {
      // Each cycle uses a fresh directory so batch numbering starts at 0.
      const r = await crashCycle(join(t.path, `db${i}`), seed0 + i);
      expect(r.present).toBeGreaterThanOrEqual(r.acked);
      acked += r.acked;
    }
    expect(acked).toBeGreaterThan(0);
  });
});
