/**
 * `npm run fuzz -- --budget 60s [--seed S]`: runs the fuzz targets until the
 * time budget is spent. A failure prints the seed and the command to replay it.
 */
import { fuzzManifest } from "./manifest.ts";
import { fuzzSstable } from "./sstable.ts";
import { fuzzVlog } from "./vlog.ts";
import { fuzzWal } from "./wal.ts";

function parseBudgetMs(text: string | undefined): number { // A
  if (text === undefined) return 60_000;
  const m = /^(\d+)(ms|s|m)?$/.exec(text);
  if (m === null) throw new Error(`--budget takes e.g. 60s, 5m or 500ms, got ${text}`);
  const n = Number(m[1]);
  return m[2] === "ms" ? n : m[2] === "m" ? n * 60_000 : n * 1000;
}

async function main(): Promise<void> { // A
  const argv = process.argv.slice(2);
  const flag = (name: string): string | undefined => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined); // A
  const budgetMs = parseBudgetMs(flag("--budget"));
  const seed = Number(flag("--seed") ?? Date.now() % 1_000_000_000);
  try {
    // The budget is split evenly between the targets.
    const wal = await fuzzWal(seed, Number.MAX_SAFE_INTEGER, budgetMs / 4, () => Date.now());
    process.stdout.write(`fuzz wal: ${wal.cases} cases from seed ${seed}: ${wal.opened} opened, ${wal.corrupt} CorruptionError, 0 other failures\n`);
    const man = await fuzzManifest(seed, Number.MAX_SAFE_INTEGER, budgetMs / 4, () => Date.now());
    process.stdout.write(`fuzz manifest: ${JSON.stringify(man)} from seed ${seed}, 0 other failures\n`);
    const sst = await fuzzSstable(seed, Number.MAX_SAFE_INTEGER, budgetMs / 4, () => Date.now());
    process.stdout.write(`fuzz sstable: ${JSON.stringify(sst)} from seed ${seed}, 0 other failures\n`);
    const vlog = await fuzzVlog(seed, Number.MAX_SAFE_INTEGER, budgetMs / 4, () => Date.now());
    process.stdout.write(`fuzz vlog: ${JSON.stringify(vlog)} from seed ${seed}, 0 other failures\n`);
  } catch (e) {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\nreplay: npm run fuzz -- --seed <the seed above> --budget 1s\n`);
    process.exitCode = 1;
  }
}

void main();
