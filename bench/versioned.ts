/**
 * Entry point of the versioned store's benchmark (issue 5):
 * `node dist/bench/versioned.js [--versions N] [--history N] [--no-save] ...`
 * (`--help` lists the flags), `npx bun bench/versioned.ts`,
 * `npx deno run -A bench/versioned.ts`. The run and its report are in
 * versioned-run.ts, the cases in versioned-cases.ts.
 */
import process from "node:process";
import { runVersionedBench } from "./versioned-run.ts";

await runVersionedBench(process.argv.slice(2));
