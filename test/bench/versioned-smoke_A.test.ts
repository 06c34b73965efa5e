// The versioned store's benchmark (bench/versioned.ts) at a tiny size, on the
// runtime running the test (node runs the build in dist/, which `npm test`
// makes first; bun and deno run the sources): every case runs and reports,
// the report lands in --out and parses with its targets n/a at this size, and
// --no-save writes nothing. Figures are not checked: a test never asserts a timing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TINY = ["--versions", "300", "--history", "400", "--in-flight", "8", "--dedup", "30", "--dedup-kib", "8"];

function runBench(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const script = g.Deno !== undefined ? ["run", "-A", "bench/versioned.ts"] : g.Bun !== undefined ? ["bench/versioned.ts"] : ["dist/bench/versioned.js"];
  if (g.Deno === undefined && g.Bun === undefined && !existsSync(join(ROOT, "dist", "bench", "versioned.js"))) {
    throw new Error("dist/bench/versioned.js is missing: run `npm run build` first (npm test does)");
  }
  const r = spawnSync(process.execPath, [...script, ...args], { cwd: ROOT, encoding: "utf8", timeout: 100_000, env: { ...process.env, npm_lifecycle_event: "" } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

const scratch = mkdtempSync(join(tmpdir(), "ouro-bench-versioned-smoke-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("bench/versioned.ts at a tiny size", () => {
  test("measures every case beside the engine and writes versioned.md and versioned.json to --out", () => {
    const out = join(scratch, "out");
    const r = runBench([...TINY, "--out", out]);
    expect(r.status, `bench failed:\n${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(r.stdout).not.toContain("FAILED");
    const json = JSON.parse(readFileSync(join(out, "versioned.json"), "utf8")) as {
      throughput: Array<{ case: string; side: string; inFlight: number; ops: number; warm?: boolean }>;
      history: { versions: number; heapGrowthBytes: number[] };
      dedup: { sameBytes: number; distinctBytes: number; engineSameBytes: number };
      targets: Array<{ target: string; status: string }>;
    };
    // Puts: awaited and 8 in flight; gets: those two cold passes, then a warm awaited one.
    for (const [c, flavours] of [["put", ["1", "8"]], ["get", ["1", "1 warm", "8"]]] as const) {
      for (const side of ["store", "engine"]) {
        const got = json.throughput.filter((t) => t.case === c && t.side === side).map((t) => `${t.inFlight}${t.warm === true ? " warm" : ""}`); // A
        expect(got.sort()).toEqual([...flavours]);
      }
    }
    expect(json.throughput.every((t) => t.ops === 300)).toBe(true);
    expect(json.history.versions).toBe(400);
    expect(json.history.heapGrowthBytes.length).toBeGreaterThan(0);
    // 30 identical 8 KiB values cost one copy in the store, 30 in the engine.
    expect(json.dedup.sameBytes).toBeLessThan(json.dedup.distinctBytes);
    expect(json.dedup.sameBytes).toBeLessThan(json.dedup.engineSameBytes);
    // A run far below the targets' sizes proves nothing about them: n/a, never PASS or MISS.
    expect(json.targets.length).toBe(7);
    for (const t of json.targets) expect(t.status, t.target).toBe("n/a");
    const md = readFileSync(join(out, "versioned.md"), "utf8");
    expect(md).toContain("| target | ours | peer / reference | ratio | required | status |");
    expect(md).toContain("put 1 KiB, awaited one at a time");
  });

  test("--no-save writes nothing; a bad flag is a usage error", () => {
    const out = join(scratch, "none");
    const r = runBench([...TINY, "--cases", "put,dedup", "--out", out, "--no-save"]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain("put store x1");
    expect(r.stdout).not.toContain("iterated in");
    expect(r.stdout).toContain("dedup 30 x 8 KiB");
    expect(existsSync(out)).toBe(false);
    const bad = runBench(["--versions", "0", "--no-save"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain("--versions must be a positive integer");
  });
});
