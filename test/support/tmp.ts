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
