/**
 * Real-process crash cycles: spawn a child (the current runtime running the
 * compiled crash-child.js) that writes batches and reports each resolved
 * write, SIGKILL it at a random moment, reopen the database here and check
 * that every reported batch is there whole and that no batch is partial.
 * Used by test/engine/process-crash_A.test.ts and by `npm run soak:crash`.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { openDB, silentLog } from "../../src/index.ts";
import { SeededRandom } from "../../src/platform/random.ts";
import { crashDbOptions } from "./crash-options.ts";

export interface CycleResult {
  acked: number;
  present: number;
}

/** Path of the compiled child script (npm test builds it first). */
export function childScript(): string { // A
  const here = dirname(fileURLToPath(import.meta.url));
  const candidates = [join(here, "crash-child.js"), join(here, "../../dist/test/support/crash-child.js")];
  const found = candidates.find((p) => existsSync(p));
  if (found === undefined) throw new Error(`crash-child.js not found (run npm run build first); looked in ${candidates.join(", ")}`);
  return found;
}

/** argv to run a JS file with the current runtime (Node, Bun or Deno). */
export function runtimeArgv(script: string): string[] { // A
  const g = globalThis as { Deno?: unknown };
  if (g.Deno !== undefined) return [process.execPath, "run", "-A", script];
  return [process.execPath, script];
}

/** One cycle: returns how many batches were acknowledged and how many are present after the kill. */
export async function crashCycle(dir: string, seed: number): Promise<CycleResult> { // A
  const rng = new SeededRandom(seed);
  const [cmd, ...args] = runtimeArgv(childScript());
  const child = spawn(cmd!, [...args, dir, String(seed)], { stdio: ["ignore", "pipe", "pipe"] });
  let acked = -1;
  let buffered = "";
  let stderr = "";
  const killAfterAcks = rng.int(400);
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      buffered += chunk.toString("utf8");
      let nl: number;
      while ((nl = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line.startsWith("ack ")) acked = Math.max(acked, Number(line.slice(4)));
        if (acked >= killAfterAcks || (line === "ready" && killAfterAcks === 0)) {
          child.kill("SIGKILL");
          resolve();
        }
      }
    });
    child.stderr!.on("data", (c: Buffer) => void (stderr += c.toString("utf8")));
    void exited.then((code) => (code === null ? resolve() : reject(new Error(`child exited with ${code}: ${stderr}`))));
  });
  await exited;
  return { acked: acked + 1, present: await checkAfterKill(dir, acked, seed) };
}

/** Opens the database and checks batches 0.. are whole, a prefix, and include every acked one. */
async function checkAfterKill(dir: string, maxAcked: number, seed: number): Promise<number> { // A
  const db = await openDB(dir, { ...crashDbOptions(seed), log: silentLog() });
  try {
    const text = new TextDecoder();
    let n = 0;
    for (;; n++) {
      const sizeBytes = await db.get(`b${n}-size`);
      if (sizeBytes === undefined) break;
      const size = Number(text.decode(sizeBytes));
      for (let j = 0; j < size; j++) {
        const v = await db.get(`b${n}-${j}`);
        if (v === undefined || !text.decode(v).startsWith(`value-${n}-${j}-`)) throw new Error(`batch ${n} is partial: entry ${j} missing`);
      }
    }
    if (n <= maxAcked) throw new Error(`batch ${n} was acknowledged but is missing after the kill (acked up to ${maxAcked})`);
    let stray = 0;
    for await (const [k] of db.iterate({ gte: `b${n}-`, lt: `b${n}.` })) stray += k.length > 0 ? 1 : 0;
    if (stray > 0) throw new Error(`batch ${n} is partial: ${stray} entries present without its size marker`);
    const report = await db.verify();
    if (!report.ok) throw new Error(`verify after the kill: ${JSON.stringify(report.files.filter((f) => f.problems.length > 0))}`);
    return n;
  } finally {
    await db.close();
  }
}
