/**
 * `npm run soak:crash -- --cycles 1000 [--seed S]`: many real-process crash
 * cycles, each in a fresh database directory.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { crashCycle } from "./process-crash.ts";

async function main(): Promise<void> { // A
  const argv = process.argv.slice(2);
  const cycles = Number(argv[argv.indexOf("--cycles") + 1] ?? 1000) || 1000;
  const seed0 = argv.includes("--seed") ? Number(argv[argv.indexOf("--seed") + 1]) : Date.now() % 1_000_000;
  const dir = mkdtempSync(join(tmpdir(), "ouro-soak-"));
  let acked = 0;
  try {
    for (let i = 0; i < cycles; i++) {
      const db = join(dir, `db${i}`);
      const r = await crashCycle(db, seed0 + i);
      rmSync(db, { recursive: true, force: true });
      acked += r.acked;
      if ((i + 1) % 50 === 0) process.stdout.write(`${i + 1}/${cycles} cycles, ${acked} acknowledged batches checked\n`);
    }
    process.stdout.write(`soak ok: ${cycles} cycles from seed ${seed0}, ${acked} acknowledged batches checked\n`);
  } catch (e) {
    process.stderr.write(`soak FAILED (replay: npm run soak:crash -- --cycles ${cycles} --seed ${seed0}): ${String(e)}\n`);
    process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

void main();
