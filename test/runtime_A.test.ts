import { expect, test } from "vitest";
test("runtime", () => { console.log("bun", typeof (globalThis as any).Bun, "deno", typeof (globalThis as any).Deno); expect(1).toBe(1); });
