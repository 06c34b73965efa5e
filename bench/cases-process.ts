/**
 * The cases of issue 4 that need a process of their own (child.ts, run by
 * the same runtime from the same build):
 *
 * - open after a crash: a child writes 16-byte keys with 100-byte values in
 *   batches of 1000 to a database whose memtable and WAL cap are both large
 *   (CRASH_WRITER_OPTIONS: nothing is flushed, so the WAL only grows), says
 *   "ready" once the `.log` files total the target (~100 MB), keeps writing,
 *   and is SIGKILLed. The parent then times `openDB` with the same options:
 *   the replay of a full WAL, torn tail included.
 * - memory: a child runs fillrandom of N keys (batches of 1000) and
 *   readrandom of N `getSync`s with `openDB(dir, { profile })` and reports
 *   its peak RSS (VmHWM; see child.ts for why not ru_maxrss) and, where `db.stats()`
 *   has a `memory` field, the largest engine memory it sampled. Keys and
 *   values are derived from the index on the fly, so the data set itself
 *   costs the child no memory.
 */
import { spawn } from "node:child_process";
import { mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { directoryBytes } from "./cases-large.ts";
import type { OpenResult } from "./cases-large.ts";

const MiB = 1024 * 1024;

/**
 * The writer's and the reopen's options: nothing flushes before the WAL holds
 * the target (100 MB of WAL is ~800k entries, ~200 MiB of memtable), and the
 * memory budget leaves room for three such memtables plus the default cache.
 */
export const CRASH_WRITER_OPTIONS = { memtableBytes: 320 * MiB, walMaxBytes: 4096 * MiB, memoryBudgetBytes: 2048 * MiB } as const;

export type MemoryProfile = "mobile" | "background";

export interface MemoryResult {
  profile: MemoryProfile;
  keys: number;
  reads: number;
  peakRssBytes: number | undefined;
  /** Where the peak came from (VmHWM on Linux). */
  peakRssSource?: string;
  rssBeforeOpenBytes: number | undefined;
  /** Largest `db.stats().memory` seen (bytes), undefined while the engine does not report it. */
  engineMemoryBytes: number | undefined;
  /** `db.stats().memory.budgetBytes`, where reported. */
  engineBudgetBytes?: number;
  fillSeconds: number;
  readSeconds: number;
  error?: string;
}

/** Key `i` of a child's data set: 16 bytes derived from (seed, i). */
export function childKey(seed: number, i: number): Uint8Array { // A
  const out = new Uint8Array(16);
  const view = new DataView(out.buffer);
  const base = mix((seed * 0x9e3779b1 + i) >>> 0);
  for (let j = 0; j < 4; j++) view.setUint32(j * 4, mix((base + Math.imul(j + 1, 0x632be5ab)) >>> 0));
  return out;
}

/** A fresh buffer of `count` 100-byte pseudo-random values for the batch starting at `first`. */
export function childValues(seed: number, first: number, count: number): Uint8Array { // A
  const words = new Uint32Array(count * 25);
  let x = mix((seed ^ Math.imul(first, 0x85ebca6b)) >>> 0);
  for (let k = 0; k < words.length; k++) words[k] = x = mix((x + 0x6d2b79f5) >>> 0);
  return new Uint8Array(words.buffer);
}

function mix(x: number): number { // A
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** How to start child.ts with this runtime: node/bun take the script, deno needs `run -A`. */
function childCommand(args: readonly string[]): [string, string[]] { // A
  const here = fileURLToPath(import.meta.url);
  const script = join(dirname(here), here.endsWith(".ts") ? "child.ts" : "child.js");
  const g = globalThis as { Deno?: unknown };
  return [process.execPath, g.Deno !== undefined ? ["run", "-A", script, ...args] : [script, ...args]];
}

interface ChildRun {
  stdout: string;
  stderr: string;
  code: number | null;
  signal: string | null;
}

/** Runs the child; `onLine` sees each stdout line and may kill it. Killed with SIGKILL after `timeoutMs`. */
function runChild(args: readonly string[], timeoutMs: number, onLine?: (line: string, kill: () => void) => void): Promise<ChildRun> { // A
  const [cmd, argv] = childCommand(args);
  return new Promise((resolve, reject) => { // A
    const child = spawn(cmd, argv, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "", pending = "";
    const kill = (): void => { // A
      child.kill("SIGKILL");
    };
    const timer = setTimeout(kill, timeoutMs);
    child.stdout.setEncoding("utf8");
    child.stderr.setEncoding("utf8");
    child.stdout.on("data", (chunk: string) => { // A
      stdout += chunk;
      pending += chunk;
      let nl: number;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        onLine?.(line, kill);
      }
    });
    child.stderr.on("data", (chunk: string) => { // A
      if (stderr.length < 64 * 1024) stderr += chunk;
    });
    child.on("error", (e) => { // A
      clearTimeout(timer);
      reject(e);
    });
    child.on("close", (code, signal) => { // A
      clearTimeout(timer);
      resolve({ stdout, stderr, code, signal });
    });
  });
}

const CRASH_TIMEOUT_MS = 5 * 60_000;

/** Ours only: WAL of ~`walTargetBytes` left by a SIGKILLed writer, then `openDB` timed. */
export async function crashOpen(root: string, walTargetBytes: number, seed: number): Promise<OpenResult> { // A
  const dir = join(root, "crash-open");
  mkdirSync(dir, { recursive: true });
  try {
    let ready = false;
    const run = await runChild(["crash-writer", dir, String(walTargetBytes), String(seed)], CRASH_TIMEOUT_MS, (line, kill) => { // A
      if (line.startsWith("ready ")) {
        ready = true;
        kill();
      }
    });
    if (!ready) throw new Error(`crash writer did not reach ${walTargetBytes} WAL bytes (exit ${run.code}, signal ${run.signal}): ${run.stderr.slice(0, 500)}`);
    const walBytes = directoryBytes(dir, (name) => name.endsWith(".log")); // A
    const { openDB } = await import("../src/index.ts");
    const t0 = performance.now();
    const db = await openDB(dir, CRASH_WRITER_OPTIONS);
    const firstMs = performance.now() - t0;
    const present = db.getSync(childKey(seed, 0)) !== undefined;
    const sequence = db.stats().sequence;
    await db.close();
    if (!present) throw new Error("after the crash and reopen, the first key written is missing");
    return {
      engine: "ours", kind: "crash", keys: sequence, firstMs, bestMs: undefined, walBytes,
      detail: `writer SIGKILLed with ${(walBytes / 1e6).toFixed(1)} MB of WAL; open with the writer's options ${JSON.stringify(CRASH_WRITER_OPTIONS)}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const MEMORY_TIMEOUT_MS = 10 * 60_000;

/** A memory child's "progress {json}" line. */
interface Progress {
  step: string;
  done: number;
  seconds: number;
  engineMemoryBytes?: number;
  peakRssBytes?: number;
}

/** One profile's memory run in a child. Never throws: a failed run is a result with `error`. */
export async function memoryRun(root: string, profile: MemoryProfile, keys: number, seed: number): Promise<MemoryResult> { // A
  const dir = join(root, `memory-${profile}`);
  mkdirSync(dir, { recursive: true });
  const failed = (error: string): MemoryResult => ({ // A
    profile, keys, reads: keys, peakRssBytes: undefined, rssBeforeOpenBytes: undefined, engineMemoryBytes: undefined, fillSeconds: 0, readSeconds: 0, error,
  });
  try {
    const run = await runChild(["memory", dir, profile, String(keys), String(seed)], MEMORY_TIMEOUT_MS);
    const line = run.stdout.split("\n").find((l) => l.startsWith("result ")); // A
    if (line === undefined) {
      const last = run.stdout.split("\n").filter((l) => l.startsWith("progress ")).pop(); // A
      const p = last === undefined ? undefined : (JSON.parse(last.slice("progress ".length)) as Progress);
      const where = p === undefined ? "" : `; it had done ${p.done} ${p.step} in ${p.seconds} s (figures so far are in the table)`;
      const killed = run.signal === "SIGKILL" ? `was killed at the ${MEMORY_TIMEOUT_MS / 60_000}-minute limit` : `exited ${run.code ?? run.signal}`;
      const partial = failed(`child ${killed} without a result${where} ${run.stderr.trim().split("\n")[0] ?? ""}`.trim());
      return p === undefined ? partial : { ...partial, peakRssBytes: p.peakRssBytes, engineMemoryBytes: p.engineMemoryBytes };
    }
    return { ...(JSON.parse(line.slice("result ".length)) as MemoryResult), profile };
  } catch (e) {
    return failed(e instanceof Error ? e.message : String(e));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
