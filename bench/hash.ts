/**
 * Micro benchmark of SHA-256 through src/platform/sha256.ts: the native
 * node:crypto one-shot (`sha256(data, "native")`), the native incremental
 * hasher fed in 64 KiB pieces, and the @noble/hashes fallback (one-shot and
 * incremental), on 64 B, 1 KiB and 1 MiB inputs. Prints MB/s (10^6 bytes/s)
 * and calls/s, best of several rounds; inputs are made before timing.
 *
 *   npx tsc -p . && node dist/bench/hash.js [--quick]
 *   npx bun bench/hash.ts [--quick]
 *   npx deno run -A bench/hash.ts [--quick]
 *
 * Figures on a shared VM vary up to 2x between runs; compare within a run.
 */
import process from "node:process";
import { SystemClock } from "../src/platform/clock.ts";
import { SeededRandom } from "../src/platform/random.ts";
import { createSha256, type Sha256Implementation, sha256 } from "../src/platform/sha256.ts";

const clock = new SystemClock();
const QUICK = process.argv.includes("--quick");
const PIECE_BYTES = 64 * 1024;
/** Bytes hashed per round: enough for tens of ms at either speed. */
const ROUND_BYTES = QUICK ? 8 << 20 : 32 << 20;
const ROUNDS = QUICK ? 2 : 5;
const SIZES: ReadonlyArray<[string, number]> = [["64 B", 64], ["1 KiB", 1024], ["1 MiB", 1 << 20]];

interface Case {
  name: string;
  run: (data: Uint8Array) => Uint8Array;
}

function incremental(impl: Sha256Implementation): (data: Uint8Array) => Uint8Array { // A
  return (data) => {
    const h = createSha256(impl);
    for (let at = 0; at < data.length; at += PIECE_BYTES) h.update(data.subarray(at, at + PIECE_BYTES));
    return h.digest();
  };
}

const CASES: Case[] = [
  { name: "native one-shot", run: (d) => sha256(d, "native") },
  { name: "native incremental", run: incremental("native") },
  { name: "noble one-shot", run: (d) => sha256(d, "noble") },
  { name: "noble incremental", run: incremental("noble") },
];

/** Best-of-ROUNDS seconds per call; every digest's first byte is summed so no call is dead code. */
function measure(c: Case, data: Uint8Array, slow: boolean): { secPerCall: number; sink: number } { // A
  const calls = Math.max(1, Math.floor((slow ? ROUND_BYTES / 16 : ROUND_BYTES) / data.length));
  let best = Infinity;
  let sink = 0;
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = clock.monotonicMs();
    for (let i = 0; i < calls; i++) sink = (sink + c.run(data)[0]!) | 0;
    best = Math.min(best, (clock.monotonicMs() - t0) / 1000 / calls);
  }
  return { secPerCall: best, sink };
}

function runtimeName(): string { // A
  const g = globalThis as { Bun?: { version: string }; Deno?: { version: { deno: string } } };
  if (g.Bun !== undefined) return `bun ${g.Bun.version}`;
  if (g.Deno !== undefined) return `deno ${g.Deno.version.deno}`;
  return `node ${process.version}`;
}

function main(): void { // A
  const data = new SeededRandom(42).bytes(new Uint8Array(1 << 20));
  process.stdout.write(`SHA-256, ${runtimeName()}, best of ${ROUNDS}; MB/s (10^6 B/s) and calls/s\n`);
  process.stdout.write(`| implementation | ${SIZES.map(([n]) => `${n} MB/s | ${n} calls/s`).join(" | ")} |\n`);
  process.stdout.write(`|---|${SIZES.map(() => "---:|---:").join("|")}|\n`);
  let sink = 0;
  for (const c of CASES) {
    const cells: string[] = [];
    for (const [, size] of SIZES) {
      const m = measure(c, data.subarray(0, size), c.name.startsWith("noble"));
      sink = (sink + m.sink) | 0;
      cells.push((size / m.secPerCall / 1e6).toFixed(0), Math.round(1 / m.secPerCall).toLocaleString("en-US"));
    }
    process.stdout.write(`| ${c.name} | ${cells.join(" | ")} |\n`);
  }
  process.stdout.write(`(sink ${sink})\n`);
}

main();
