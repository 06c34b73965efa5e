/**
 * Runs the issue-4 cases for run.ts and prints each figure as it lands:
 * the in-process cases per engine (cases-large.ts), the crash half of
 * `open` for ours, and the memory case's child processes (cases-process.ts).
 * Each gets a temporary directory of its own, removed afterwards.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLargeCases } from "./cases-large.ts";
import type { BigValuesResult, LargeOptions, OpenResult, OverwriteResult } from "./cases-large.ts";
import { crashOpen, memoryRun } from "./cases-process.ts";
import type { MemoryResult } from "./cases-process.ts";
import type { Dataset } from "./cases.ts";
import type { Engine } from "./engines.ts";
import { megabytes } from "./targets.ts";

/** The figures collected over the run (a LargeFigures that can grow). */
export interface LargeRun {
  bigValues: BigValuesResult[];
  overwrite: OverwriteResult[];
  open: OpenResult[];
  memory: MemoryResult[];
}

/** The in-process issue-4 cases of one engine, then (ours) the open after a crash. */
export async function runLarge(engine: Engine, data: Dataset, o: LargeOptions, crashWalBytes: number, r: LargeRun): Promise<void> { // A
  if (!o.cases.has("bigvalues") && !o.cases.has("overwrite") && !o.cases.has("open")) return;
  const root = mkdtempSync(join(tmpdir(), `ouro-bench-large-${engine.name}-`));
  try {
    await runLargeCases(engine, data, o, {
      bigValues(b): void { // A
        r.bigValues.push(b);
        console.log(`  ${pad(`bigvalues:${b.flavour}`, 18)} ${b.mbPerSec.toFixed(0).padStart(8)} MB/s  ${b.seconds.toFixed(2)} s  write amp ${b.writeAmplification.toFixed(2)}  ${b.api}`);
      },
      overwrite(w): void { // A
        r.overwrite.push(w);
        console.log(`  ${pad("overwrite", 18)} ${megabytes(w.dirBytes)} after ${w.maintenance} = ${w.ratio.toFixed(2)}x live (${megabytes(w.bytesBeforeCompaction)} before)`);
      },
      open(op): void { // A
        r.open.push(op);
        console.log(`  ${pad(`open:${op.kind}`, 18)} ${op.firstMs.toFixed(1)} ms first, ${op.bestMs?.toFixed(1) ?? "-"} ms best of 3 more (${op.keys} keys)`);
      },
    }, root);
    if (engine.name === "ours" && o.cases.has("open")) {
      const c = await crashOpen(root, crashWalBytes, o.seed);
      r.open.push(c);
      console.log(`  ${pad("open:crash", 18)} ${c.firstMs.toFixed(0)} ms (${c.detail ?? ""})`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Ours' memory case: one child per profile. */
export async function runMemory(keys: number, seed: number, r: LargeRun): Promise<void> { // A
  console.log("\n== ours, memory (child processes)");
  const root = mkdtempSync(join(tmpdir(), "ouro-bench-memory-"));
  try {
    for (const profile of ["mobile", "background"] as const) {
      const m = await memoryRun(root, profile, keys, seed);
      r.memory.push(m);
      const engineMemory = m.engineMemoryBytes === undefined ? "n/a" : mib(m.engineMemoryBytes);
      console.log(`  ${pad(profile, 18)} peak RSS ${mib(m.peakRssBytes)}, engine memory ${engineMemory}, ` +
        `fill ${m.fillSeconds.toFixed(1)} s, reads ${m.readSeconds.toFixed(1)} s${m.error === undefined ? "" : `; FAILED: ${m.error}`}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function mib(bytes: number | undefined): string { // A
  return bytes === undefined ? "n/a" : `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

function pad(s: string, width: number): string { // A
  return s.padEnd(width);
}
