/** Temporary directories for tests that use the real file system. */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export function tempDir(prefix = "ouro-test-"): { path: string; cleanup: () => void } { // A
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** A UTF-8 encoder/decoder pair for readable test data. */
export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

/** Collects an async iterable of entries as [key, value] strings. */
export async function collect(it: AsyncIterable<[Uint8Array, Uint8Array]>): Promise<Array<[string, string]>> { // A
  const out: Array<[string, string]> = [];
  for await (const [k, v] of it) out.push([dec(k)!, dec(v)!]);
  return out;
}

/**
 * The database's files as a killed process leaves them (the OS keeps what
 * was written; nothing was flushed to tables by a clean close): a clone of
 * `fs` taken now. The original handle is closed afterwards, on the old file
 * system, so tests that damage the WAL find their records there.
 */
export async function killedCopy<T>(db: { close(): Promise<void> }, fs: { clone(): T }): Promise<T> { // A
  const copy = fs.clone();
  await db.close();
  return copy;
}

/** Path of the only WAL file in `dir` (tests of WAL damage). */
export function onlyLog(fs: { list(dir: string): string[] }, dir = "/db"): string { // A
  const logs = fs.list(dir).filter((n) => /^\d+\.log$/.test(n));
  if (logs.length !== 1) throw new Error(`expected one log in ${dir}, found ${JSON.stringify(logs)}`);
  return `${dir}/${logs[0]}`;
}
