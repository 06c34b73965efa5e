#!/usr/bin/env node
/**
 * The `ouroboros` command line. This release has the engine commands
 * (demo, put, get, del, scan, inspect, verify, compact); the versioned-store,
 * replication and simulator commands come with their issues and say so.
 * Exit status 0 on success, non-zero with a one-line reason on error.
 */
import { openDB, OuroborosError, type DB } from "../src/index.ts";

const DEMO_DIR = ".ouroboros-demo";

const HELP: Record<string, string> = {
  demo: `ouroboros demo [dir]    write, read, close, reopen and show that the data is still there (default dir ${DEMO_DIR})`,
  put: "ouroboros put <dir> <key> <value> [--sync]    store a value (UTF-8 key and value)",
  get: "ouroboros get <dir> <key>    print a value; exit 1 if absent",
  del: "ouroboros del <dir> <key> [--sync]    delete a key",
  scan: "ouroboros scan <dir> [--prefix P] [--limit N] [--reverse]    print key<TAB>value lines in key order",
  inspect: "ouroboros inspect <dir>    print the engine's statistics as JSON",
  verify: "ouroboros verify <dir>    re-read every file, check every checksum; exit 1 on any problem",
  compact: "ouroboros compact <dir>    flush the memtable and compact every level; print the levels after",
};
const LATER = new Set(["serve", "history", "sync", "bench", "sim"]);

function usage(): string { // A
  return ["usage: ouroboros <command> [args]  (each command takes --help)", ...Object.values(HELP).map((h) => `  ${h}`)].join("\n");
}

function out(line: string): void { // A
  process.stdout.write(`${line}\n`);
}

async function withDB<T>(dir: string | undefined, fn: (db: DB) => Promise<T>, readOnly = false): Promise<T> { // A
  if (dir === undefined) throw new UsageError("missing <dir>");
  const db = await openDB(dir, { readOnly, createIfMissing: !readOnly });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

class UsageError extends Error {}

async function demo(dir: string): Promise<void> { // A
  const text = new TextDecoder();
  let runs = 0;
  await withDB(dir, async (db) => {
    const before = await db.get("demo:runs");
    runs = before === undefined ? 1 : Number(text.decode(before)) + 1;
    const batch = db.batch();
    for (let i = 0; i < 1000; i++) batch.put(`demo:key:${String(i).padStart(4, "0")}`, `value ${i} (run ${runs})`);
    batch.put("demo:runs", String(runs));
    await db.write(batch, { sync: true });
    out(`wrote 1001 keys to ${dir} (run ${runs}); closing`);
  });
  await withDB(dir, async (db) => {
    const v = await db.get("demo:key:0042");
    let n = 0;
    for await (const _ of db.iterate({ prefix: "demo:key:" })) n++;
    out(`reopened ${dir}: demo:key:0042 = ${JSON.stringify(v === undefined ? null : text.decode(v))}; ${n} keys under demo:key:`);
    out(`stats: ${JSON.stringify(db.stats())}`);
    if (v === undefined || n !== 1000) throw new Error("the data written before the reopen is missing");
  });
  out("the data survived close and reopen. Run `npm start` again: the run counter goes up.");
}

async function scan(args: string[]): Promise<void> { // A
  const prefix = flagValue(args, "--prefix");
  const limit = flagValue(args, "--limit");
  await withDB(args[0], async (db) => {
    const text = new TextDecoder();
    const it = db.iterate({ prefix, reverse: args.includes("--reverse"), limit: limit === undefined ? undefined : Number(limit) });
    for await (const [k, v] of it) out(`${text.decode(k)}\t${text.decode(v)}`);
  }, true);
}

function flagValue(args: string[], flag: string): string | undefined { // A
  const at = args.indexOf(flag);
  return at < 0 ? undefined : args[at + 1];
}

async function run(argv: string[]): Promise<number> { // A
  const [cmd, ...args] = argv;
  if (cmd === undefined || cmd === "--help" || cmd === "-h" || cmd === "help") {
    out(usage());
    return 0;
  }
  if (args.includes("--help")) {
    if (HELP[cmd] === undefined && !LATER.has(cmd)) throw new UsageError(`unknown command ${cmd}`);
    out(HELP[cmd] ?? `ouroboros ${cmd}: arrives with a later release (see README, "Current limits")`);
    return 0;
  }
  const text = new TextDecoder();
  switch (cmd) {
    case "demo":
      await demo(args[0] ?? DEMO_DIR);
      return 0;
    case "put":
      if (args.length < 3) throw new UsageError(HELP.put!);
      await withDB(args[0], (db) => db.put(args[1]!, args[2]!, { sync: args.includes("--sync") }));
      return 0;
    case "del":
      if (args.length < 2) throw new UsageError(HELP.del!);
      await withDB(args[0], (db) => db.delete(args[1]!, { sync: args.includes("--sync") }));
      return 0;
    case "get": {
      if (args.length < 2) throw new UsageError(HELP.get!);
      const v = await withDB(args[0], (db) => db.get(args[1]!), true);
      if (v === undefined) {
        process.stderr.write(`ouroboros: key not found: ${args[1]}\n`);
        return 1;
      }
      out(text.decode(v));
      return 0;
    }
    case "scan":
      await scan(args);
      return 0;
    case "inspect":
      out(JSON.stringify(await withDB(args[0], async (db) => db.stats(), true), null, 2));
      return 0;
    case "compact": {
      const levels = await withDB(args[0], async (db) => { // A
        await db.compact();
        return db.stats().levels;
      });
      out(JSON.stringify(levels, null, 2));
      return 0;
    }
    case "verify": {
      const report = await withDB(args[0], (db) => db.verify(), true);
      out(JSON.stringify(report, null, 2));
      return report.ok ? 0 : 1;
    }
    default:
      if (LATER.has(cmd)) throw new UsageError(`ouroboros ${cmd} arrives with a later release (see README, "Current limits")`);
      throw new UsageError(`unknown command ${cmd}\n${usage()}`);
  }
}

run(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (e: unknown) => {
    const why = e instanceof OuroborosError || e instanceof UsageError ? e.message : e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    process.stderr.write(`ouroboros: ${why.split("\n")[0]}\n`);
    process.exitCode = e instanceof UsageError ? 2 : 1;
  },
);
