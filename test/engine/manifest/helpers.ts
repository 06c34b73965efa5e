/** Shared helpers of the manifest tests: state snapshots and random valid edits. */
import { SeededRandom } from "../../../src/platform/random.ts";
import { MAX_LEVELS, type AddedFile, type DeletedFile, type FileMeta, type VersionEdit, type VlogDiscard } from "../../../src/engine/manifest/version-edit.ts";
import type { VersionSet } from "../../../src/engine/manifest/version-set.ts";
import type { Version } from "../../../src/engine/manifest/version.ts";

export interface SetSnapshot {
  levels: FileMeta[][];
  lastSeq: number;
  logNumber: number;
  compactPointers: [number, string][];
  /** Value-log discard totals, ascending by file number. */
  vlogDiscard: [number, number][];
}

export function levelsOf(v: Version): FileMeta[][] {
  return v.levels.map((l) => l.map((f) => ({ ...f })));
}

export function snapshotOf(vs: VersionSet): SetSnapshot {
  const compactPointers: [number, string][] = [];
  for (let l = 0; l < MAX_LEVELS; l++) {
    const k = vs.compactPointer(l);
    if (k !== undefined) compactPointers.push([l, k]);
  }
  const vlogDiscard = [...vs.vlogDiscard()].sort((a, b) => a[0] - b[0]);
  return { levels: levelsOf(vs.current()), lastSeq: vs.lastSeq, logNumber: vs.logNumber, compactPointers, vlogDiscard };
}

/** Disjoint key ranges by file number, so any file may sit at any level. */
export function metaFor(n: number, sizeBytes = 1000 + n, minSeq = n, maxSeq = n + 5): FileMeta {
  const pad = (x: number): string => String(x).padStart(8, "0");
  return { fileNumber: n, sizeBytes, smallestKey: `k${pad(2 * n)}\u00ff`, largestKey: `k${pad(2 * n + 1)}\u0000`, minSeq, maxSeq };
}

/** A random edit that is valid against `vs`'s current state (file numbers drawn from vs). */
export function randomEdit(rng: SeededRandom, vs: VersionSet): VersionEdit {
  const live: { level: number; f: FileMeta }[] = [];
  vs.current().forEachFile((f, level) => live.push({ level, f }));
  const added: AddedFile[] = [];
  const deleted: DeletedFile[] = [];
  const taken = new Set<number>();
  for (let i = 0, n = rng.int(3); i < n; i++) added.push({ level: rng.int(MAX_LEVELS), ...metaFor(vs.newFileNumber()) });
  for (let i = 0, n = rng.int(3); i < n && live.length > 0; i++) {
    const pick = live[rng.int(live.length)]!;
    if (taken.has(pick.f.fileNumber)) continue;
    taken.add(pick.f.fileNumber);
    deleted.push({ level: pick.level, fileNumber: pick.f.fileNumber });
    if (rng.int(2) === 0) added.push({ ...pick.f, level: (pick.level + 1) % MAX_LEVELS }); // a move
  }
  const edit: {
    added: AddedFile[]; deleted: DeletedFile[]; logNumber?: number; lastSeq?: number; compactPointers?: { level: number; key: string }[];
    vlogDiscard?: VlogDiscard[]; vlogForget?: number[];
  } = { added, deleted };
  if (rng.int(3) === 0) edit.logNumber = vs.logNumber + rng.int(3);
  if (rng.int(3) === 0) edit.lastSeq = vs.lastSeq + rng.int(100);
  if (rng.int(4) === 0) edit.compactPointers = [{ level: rng.int(MAX_LEVELS), key: `cp${rng.int(1000)}` }];
  // Value-log discard deltas for handed-out numbers (small ones, so totals build up), and sometimes a forgotten file.
  if (rng.int(2) === 0) {
    const deltas = new Map<number, number>();
    for (let i = 0, n = 1 + rng.int(3); i < n; i++) deltas.set(1 + rng.int(Math.min(8, vs.nextFileNumber - 1)), 1 + rng.int(5000));
    edit.vlogDiscard = [...deltas].map(([fileNumber, bytes]) => ({ fileNumber, bytes }));
  }
  const known = [...vs.vlogDiscard().keys()].filter((f) => !(edit.vlogDiscard ?? []).some((d) => d.fileNumber === f));
  if (known.length > 0 && rng.int(5) === 0) edit.vlogForget = [known[rng.int(known.length)]!];
  return edit;
}
