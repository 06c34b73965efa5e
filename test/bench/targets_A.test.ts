// The benchmark's target table: a missing figure, or one from a run smaller
// than the target's stated size, reads "n/a" and never PASS.
import { describe, expect, test } from "vitest";
import type { BigValuesResult, OpenResult, OverwriteResult } from "../../bench/cases-large.ts";
import type { MemoryResult } from "../../bench/cases-process.ts";
import { evaluateTargets } from "../../bench/targets.ts";
import type { LargeFigures, TargetLine } from "../../bench/targets.ts";

const big = (engine: "ours" | "classic-level", mbPerSec: number, puts = 10_000, amp = 1.05): BigValuesResult => ({
  engine, flavour: "single", api: "put", puts, userBytes: puts * (16 + 65536), seconds: 1, mbPerSec,
  writtenBytes: amp * puts * (16 + 65536), writeAmplification: amp, method: "/proc/self/io write_bytes",
});
const over = (keys: number, ratio: number): OverwriteResult => ({
  engine: "ours", keys, writes: keys * 4, liveBytes: keys * 4112, bytesBeforeCompaction: 0, dirBytes: ratio * keys * 4112, ratio, maintenance: "compact", writeSeconds: 1,
});
const open = (kind: "clean" | "crash", keys: number, firstMs: number, walBytes?: number): OpenResult => ({ engine: "ours", kind, keys, firstMs, bestMs: undefined, walBytes });
const mem = (profile: "mobile" | "background", keys: number, peakRssBytes: number | undefined, engineMemoryBytes: number | undefined, error?: string): MemoryResult => ({
  profile, keys, reads: keys, peakRssBytes, rssBeforeOpenBytes: 0, engineMemoryBytes, fillSeconds: 1, readSeconds: 1, ...(error === undefined ? {} : { error }),
});

function statusOf(lines: readonly TargetLine[], prefix: string): string | undefined {
  return lines.find((l) => l.target.startsWith(prefix))?.status;
}

const MiB = 1024 * 1024;
const PREFIXES = ["10k puts of 64 KiB", "write amplification", "space after 3x overwrite", "mobile: peak", "background: engine", "open of a cleanly", "open after a crash"];

describe("issue-4 targets", () => {
  test("nothing measured: every line n/a, none PASS, the older targets n/a too", () => {
    const lines = evaluateTargets([], [], { bigValues: [], overwrite: [], open: [], memory: [] });
    for (const p of PREFIXES) expect(statusOf(lines, p), p).toBe("n/a");
    expect(lines.every((l) => l.status === "n/a")).toBe(true);
  });

  test("full-size figures pass or miss against their bounds", () => {
    const f: LargeFigures = {
      bigValues: [big("ours", 500), big("classic-level", 200)],
      overwrite: [over(20_000, 1.2)],
      open: [open("clean", 1_000_000, 10), open("crash", 900_000, 1500, 101e6)],
      memory: [mem("mobile", 1_000_000, 200 * MiB, 30 * MiB), mem("background", 1_000_000, 100 * MiB, 20 * MiB)],
    };
    const lines = evaluateTargets([], [], f);
    expect(PREFIXES.map((p) => statusOf(lines, p))).toEqual(["PASS", "PASS", "PASS", "MISS", "PASS", "PASS", "MISS"]);
  });

  test("a smaller run, a failed child or a missing peer is n/a, not PASS", () => {
    const f: LargeFigures = {
      bigValues: [big("ours", 500, 200)],
      overwrite: [over(2000, 1.0)],
      open: [open("clean", 5000, 1), open("crash", 1000, 10, 1e6)],
      memory: [mem("mobile", 2000, 60 * MiB, 1 * MiB), mem("background", 1_000_000, 50 * MiB, 1 * MiB, "killed")],
    };
    const lines = evaluateTargets([], [], f);
    for (const p of PREFIXES) expect(statusOf(lines, p), p).toBe("n/a");
    expect(lines.find((l) => l.target.startsWith("space after"))?.required).toContain("smaller run");
    expect(lines.find((l) => l.target.startsWith("background"))?.required).not.toContain("smaller run");
  });
});
