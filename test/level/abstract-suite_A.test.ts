/**
 * abstract-level's own shared test suite (the one the package ships for
 * implementations), run in-process under a private tape harness against
 * OuroborosLevel on MemFileSystem, one fresh file system per database. The
 * tape results are collected and turned into one vitest verdict: any failed
 * assertion fails, and a minimum assertion count keeps it from passing
 * vacuously (for example if the suite stopped registering tests).
 */
import { expect, test } from "vitest";
// @ts-expect-error tape ships no types; we use createHarness only
import tape from "tape";
// @ts-expect-error the suite is plain CommonJS without types
import suite from "abstract-level/test/index.js";
import { MemFileSystem, silentLog } from "../../src/index.ts";
import { OuroborosLevel } from "../../src/level/index.ts";

interface TapeRow {
  type: "test" | "assert" | "end";
  id?: number;
  test?: number;
  name?: string;
  ok?: boolean;
  skip?: boolean;
  todo?: boolean;
  operator?: string;
  actual?: unknown;
  expected?: unknown;
  error?: unknown;
}

/** The suite runs about 5100 assertions in about 1450 tests (twice: on the db and on a sublevel); far fewer means it did not really run. */
const MIN_ASSERTIONS = 5000;
/** Well under vitest's testTimeout (120 s), so a hang reports the stuck test instead of a bare timeout. */
const SUITE_DEADLINE_MS = 100_000;

test("abstract-level shared test suite passes against OuroborosLevel", async () => {
  const harness = tape.createHarness({ autoclose: true });
  const names = new Map<number, string>();
  const failures: string[] = [];
  const skipped: string[] = [];
  let passed = 0;
  let tests = 0;
  let current = "(none)";
  const stream = harness.createStream({ objectMode: true });
  stream.on("data", (row: TapeRow) => {
    if (row.type === "test") {
      tests++;
      current = row.name ?? "?";
      names.set(row.id!, current);
    } else if (row.type === "assert") {
      if (row.skip || row.todo) skipped.push(`${names.get(row.test!) ?? "?"} :: ${row.name ?? "?"}`);
      else if (row.ok) passed++;
      else failures.push(`${names.get(row.test!) ?? "?"} :: ${row.name ?? row.operator} :: ${describe(row)}`);
    }
  });
  const finished = new Promise<void>((resolve) => harness.onFinish(resolve));
  let n = 0;
  suite({
    test: harness,
    factory(options?: object) { // A
      n++;
      return new OuroborosLevel(`/level-${n}`, { ...options, fs: new MemFileSystem(), log: silentLog() });
    },
  });
  // A test of the suite that never ends would hang tape; fail with what is known instead.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), SUITE_DEADLINE_MS);
  });
  const outcome = await Promise.race([finished.then(() => "done" as const), deadline]);
  clearTimeout(timer);
  if (outcome === "timeout") failures.push(`suite did not finish within ${SUITE_DEADLINE_MS} ms; stuck in test "${current}"`);
  if (failures.length > 0) {
    throw new Error(`${failures.length} failed assertion(s) of ${passed + failures.length}:\n${failures.slice(0, 40).join("\n")}`);
  }
  // The suite skips nothing for us: every feature of the manifest is on (see /tmp/spec/level.md).
  expect(skipped).toEqual([]);
  expect(tests).toBeGreaterThan(1400);
  expect(passed).toBeGreaterThanOrEqual(MIN_ASSERTIONS);
  expect(n).toBeGreaterThan(100);
  process.stdout.write(`abstract-level suite: ${tests} tests, ${passed} assertions passed, ${n} databases\n`);
});

function describe(row: TapeRow): string { // A
  if (row.error !== undefined) return String((row.error as Error)?.stack ?? row.error).slice(0, 600);
  return `expected ${safe(row.expected)}, actual ${safe(row.actual)}`;
}

function safe(v: unknown): string { // A
  try {
    return JSON.stringify(v)?.slice(0, 200) ?? String(v);
  } catch {
    return String(v);
  }
}
