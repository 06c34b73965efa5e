/**
 * Shared checks of a versioned store's directory after a crash test: the
 * survivor, opened raw, verifies clean with exactly `versions` linked
 * versions and nothing held.
 */
import { expect } from "vitest";
import { openDB, silentLog, type MemFileSystem } from "../../src/index.ts";
import { sha256 } from "../../src/platform/sha256.ts";
import { verifyStore } from "../../src/versioned/verify.ts";

export async function expectCleanSurvivor(fs: MemFileSystem, path: string, versions: number, where: string): Promise<void> { // A
  const db = await openDB(path, { fs, log: silentLog() });
  const report = await verifyStore(db, sha256);
  await db.close();
  expect(report.problems, where).toEqual([]);
  expect(report).toMatchObject({ ok: true, records: versions, history: versions, pending: 0 });
}
