// The benchmark at a tiny size, on the runtime running the test (node runs the
// build in dist/, which `npm test` makes first; bun and deno run the sources):
// every case runs, the results and charts land in --out and parse, and
// --no-save writes nothing. Figures are not checked: a test never asserts a timing.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, test } from "vitest";
import { all, parseXml } from "./xml-check.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const TINY = [
  "--keys", "2000", "--single", "200", "--big-count", "20", "--overwrite-keys", "200",
  "--crash-wal-mb", "1", "--memory-keys", "2000", "--with-memory", "--only", "ours,classic-level",
];

function runBench(args: readonly string[]): { status: number | null; stdout: string; stderr: string } {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  const argv = g.Deno !== undefined ? ["run", "-A", "bench/run.ts", ...args] : g.Bun !== undefined ? ["bench/run.ts", ...args] : ["dist/bench/run.js", ...args];
  if (g.Deno === undefined && g.Bun === undefined && !existsSync(join(ROOT, "dist", "bench", "run.js"))) {
    throw new Error("dist/bench/run.js is missing: run `npm run build` first (npm test does)");
  }
  const r = spawnSync(process.execPath, argv, { cwd: ROOT, encoding: "utf8", timeout: 100_000, env: { ...process.env, npm_lifecycle_event: "" } });
  return { status: r.status, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}

const scratch = mkdtempSync(join(tmpdir(), "ouro-bench-smoke-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("npm run bench at a tiny size", () => {
  test("writes latest.md, latest.json and well-formed charts for every case to --out", () => {
    const out = join(scratch, "out");
    const r = runBench([...TINY, "--out", out]);
    expect(r.status, `bench failed:\n${r.stderr}\n${r.stdout.slice(-2000)}`).toBe(0);
    expect(r.stdout).not.toContain("FAILED");
    const files = readdirSync(out).sort();
    expect(files).toContain("latest.md");
    expect(files).toContain("latest.json");
    for (const name of ["chart-overview.svg", "chart-fillrandom-batch.svg", "chart-bigvalues-single.svg", "chart-overwrite-space.svg", "chart-open-clean.svg"]) {
      expect(files).toContain(name);
    }
    for (const name of files.filter((f) => f.endsWith(".svg"))) {
      const root = parseXml(readFileSync(join(out, name), "utf8"));
      expect(root.name).toBe("svg");
      expect(all(root, (n) => n.attrs.class === "bar").length).toBeGreaterThan(0);
    }
    const md = readFileSync(join(out, "latest.md"), "utf8");
    expect(md).toContain("![overview](chart-overview.svg)");
    // A run smaller than the targets' sizes reports the issue-4 targets as n/a, never PASS.
    const json = JSON.parse(readFileSync(join(out, "latest.json"), "utf8")) as { targets: Array<{ target: string; status: string }> };
    const memory = json.targets.find((t) => t.target.startsWith("mobile: peak process RSS"));
    expect(memory?.status).toBe("n/a");
    expect(json.targets.find((t) => t.target.startsWith("background: engine memory"))?.status).toBe("n/a");
  });

  test("--no-save writes nothing", () => {
    const out = join(scratch, "none");
    const r = runBench([...TINY, "--cases", "fillrandom,bigvalues", "--out", out, "--no-save"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("bigvalues");
    expect(existsSync(out)).toBe(false);
  });
});
