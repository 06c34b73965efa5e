/**
 * The `ouroboros` command line, run as a real process (node, on the built
 * dist/ that `npm test` builds first) against a temporary directory.
 */
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { afterAll, describe, expect, test } from "vitest";
import { tempDir } from "../support/tmp.ts";

const CLI = "dist/tools/ouroboros.js";
const dir = tempDir("ouro-cli-");
afterAll(() => dir.cleanup());

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync("node", [CLI, ...args], { encoding: "utf8" });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

describe("ouroboros CLI", () => {
  test("put, get, del, scan, compact, inspect, verify", () => {
    expect(existsSync(CLI), `${CLI} is built by npm test (npm run build) first`).toBe(true);
    const db = `${dir.path}/db`;
    for (let i = 0; i < 5; i++) expect(run("put", db, `k${i}`, `v${i}`).code).toBe(0);
    expect(run("del", db, "k2").code).toBe(0);
    expect(run("get", db, "k1")).toMatchObject({ code: 0, out: "v1\n" });
    const missing = run("get", db, "k2");
    expect(missing.code).toBe(1);
    expect(missing.err).toContain("not found");
    expect(run("scan", db).out).toBe("k0\tv0\nk1\tv1\nk3\tv3\nk4\tv4\n");
    const compact = run("compact", db);
    expect(compact.code).toBe(0);
    const levels = JSON.parse(compact.out) as Array<{ level: number; files: number }>;
    expect(levels.reduce((n, l) => n + l.files, 0)).toBeGreaterThan(0);
    const stats = JSON.parse(run("inspect", db).out) as { levels: unknown[]; sequence: number };
    expect(stats.levels).toHaveLength(7);
    expect(stats.sequence).toBe(6);
    const verify = run("verify", db);
    expect(verify.code).toBe(0);
    expect((JSON.parse(verify.out) as { ok: boolean }).ok).toBe(true);
  });

  test("bad usage exits 2 with a one-line reason; later commands say so", () => {
    const bad = run("frobnicate");
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n")).toHaveLength(1);
    const later = run("serve");
    expect(later.code).toBe(2);
    expect(later.err).toContain("later release");
  });
});
