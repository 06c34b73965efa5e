/**
 * Replay of one manifest into the state it describes: the live files per
 * level, the counters, the compaction pointers and the value log's discard
 * totals. The first record is a snapshot (it must carry every counter and
 * delete and forget nothing; its discard entries are the totals); every
 * later record is an edit applied on top (its discard entries are deltas).
 * Any edit that does not fit the state (deleting a file that is not there,
 * re-adding a live number, overlapping files at level >= 1, a counter going
 * backwards, a discard for a file number never handed out, a discard total
 * past 2^53-1) is CorruptionError naming the manifest and the record's
 * offset: a checksummed record that does not make sense means a bug or a
 * foreign file, never something to guess around.
 */
import { CorruptionError, NotFoundError } from "../../errors.ts";
import type { FileSystem } from "../../platform/fs.ts";
import { joinPath } from "../../platform/fs.ts";
import { manifestFileName } from "./manifest-format.ts";
import { readManifest, type ManifestContents } from "./manifest-log.ts";
import { applyEdit, applyVlogDiscard, emptyLevels } from "./version.ts";
import type { FileMeta, VersionEdit } from "./version-edit.ts";

export interface ManifestState {
  manifestNumber: number;
  levels: FileMeta[][];
  /** At least one above every file number live here, the manifest's own and the log number. */
  nextFileNumber: number;
  lastSeq: number;
  logNumber: number;
  compactPointers: Map<number, string>;
  /** Value-log file number -> record bytes that are garbage (snapshot totals plus every edit's deltas, minus forgotten files). */
  vlogDiscard: ReadonlyMap<number, number>;
  /** Records replayed (the snapshot included). */
  records: number;
  /** Bytes of a torn last append that were dropped. */
  tornTailBytes: number;
}

function readOrExplain(fs: FileSystem, dir: string, manifestNumber: number): ManifestContents { // PA
  try {
    return readManifest(fs, dir, manifestNumber);
  } catch (e) {
    if (e instanceof NotFoundError) {
      throw new CorruptionError(`${manifestFileName(manifestNumber)} does not exist, yet it is the manifest to replay`, { file: joinPath(dir, manifestFileName(manifestNumber)) }, { cause: e });
    }
    throw e;
  }
}

/** Replays MANIFEST-`manifestNumber` in `dir`. Throws CorruptionError for anything but a clean replay (a torn tail is clean). */
export function replayManifest(fs: FileSystem, dir: string, manifestNumber: number): ManifestState { // PA
  const contents = readOrExplain(fs, dir, manifestNumber);
  const file = contents.file;
  if (contents.records.length === 0) {
    throw new CorruptionError("manifest holds no complete snapshot record (it was never made live)", { file, offset: 0 });
  }
  const snap = contents.records[0]!.edit;
  if (snap.logNumber === undefined || snap.nextFileNumber === undefined || snap.lastSeq === undefined || snap.deleted !== undefined || snap.vlogForget !== undefined) {
    throw new CorruptionError("manifest snapshot record lacks a counter, or deletes files or forgets value-log files", { file, offset: contents.records[0]!.offset });
  }
  const state: ManifestState = {
    manifestNumber, levels: emptyLevels(), nextFileNumber: snap.nextFileNumber, lastSeq: snap.lastSeq, logNumber: snap.logNumber,
    compactPointers: new Map(), vlogDiscard: new Map(), records: contents.records.length, tornTailBytes: contents.tornTailBytes,
  };
  for (const rec of contents.records) {
    const fail = (message: string): never => { throw new CorruptionError(`manifest edit does not apply: ${message}`, { file, offset: rec.offset }); }; // A
    applyCounters(state, rec.edit, fail);
    state.levels = applyEdit(state.levels, rec.edit, fail);
    for (const d of rec.edit.vlogDiscard ?? []) {
      if (d.fileNumber >= state.nextFileNumber) fail(`value-log discard names file ${d.fileNumber}, never handed out (next file number ${state.nextFileNumber})`);
    }
    state.vlogDiscard = applyVlogDiscard(state.vlogDiscard, rec.edit, fail);
  }
  let maxNumber = Math.max(manifestNumber, state.logNumber);
  for (const l of state.levels) for (const f of l) maxNumber = Math.max(maxNumber, f.fileNumber);
  state.nextFileNumber = Math.max(state.nextFileNumber, maxNumber + 1);
  return state;
}

function applyCounters(state: ManifestState, edit: VersionEdit, fail: (m: string) => never): void { // PA
  if (edit.lastSeq !== undefined) {
    if (edit.lastSeq < state.lastSeq) fail(`lastSeq goes back from ${state.lastSeq} to ${edit.lastSeq}`);
    state.lastSeq = edit.lastSeq;
  }
  if (edit.logNumber !== undefined) {
    if (edit.logNumber < state.logNumber) fail(`logNumber goes back from ${state.logNumber} to ${edit.logNumber}`);
    state.logNumber = edit.logNumber;
  }
  if (edit.nextFileNumber !== undefined) state.nextFileNumber = Math.max(state.nextFileNumber, edit.nextFileNumber);
  for (const c of edit.compactPointers ?? []) state.compactPointers.set(c.level, c.key);
}
