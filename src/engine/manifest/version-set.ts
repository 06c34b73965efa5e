/**
 * The version set: the in-memory current Version, the counters (next file
 * number, last sequence, log number), compaction pointers, the value log's
 * discard totals, and the manifest that makes each change durable.
 *
 * `logAndApply` is the only way the file set changes: edits are serialized,
 * each is checked against the current version, appended to the manifest and
 * fsynced, and only then installed. A failed append or fsync leaves the
 * manifest's tail unknown, so the next edit starts a fresh manifest instead
 * of appending after it.
 *
 * Rotation (when the manifest passes `manifestRotateBytes`, after a failure,
 * and on every recover): a new MANIFEST-N holding one snapshot record of the
 * whole state is written and fsynced with its directory entry, CURRENT is
 * switched to it (current.ts), and only then is the old manifest removed. A
 * crash anywhere leaves CURRENT naming a complete manifest: the old one (the
 * state before) or the new one (the state after).
 *
 * Cost sketch: an edit is one ~100-byte write and one fsync (~1-10 ms on a
 * real disk), plus O(files) CPU to build the next version; a rotation adds a
 * snapshot write (~50 bytes per file) and four fsyncs.
 *
 * Discard statistics (SPEC.md, "Discard statistics"): an edit's
 * `vlogDiscard` deltas (record bytes of value-log files that its flush or
 * compaction made garbage) are added to per-file totals in the same step
 * that installs the edit, so the totals always describe exactly the durable
 * edits; a snapshot record carries the totals. `forgetValueLogFile` drops a
 * file's total with an edit of its own (tag 8), once GC deleted the file.
 *
 * `load` is the read-only open: it replays the manifest CURRENT names and
 * writes nothing (no rotation, no CURRENT rewrite, no cleanup, a torn tail
 * left as it is); the set it returns refuses every change with ReadOnlyError.
 */
import { ClosedError, InvalidArgumentError, ReadOnlyError } from "../../errors.ts";
import type { FileSystem } from "../../platform/fs.ts";
import { joinPath } from "../../platform/fs.ts";
import { systemRandom, type Random } from "../../platform/random.ts";
import { CURRENT_FILE, listManifests, readCurrent, writeCurrent } from "./current.ts";
import { manifestFileName } from "./manifest-format.ts";
import { ManifestWriter } from "./manifest-log.ts";
import { replayManifest } from "./replay.ts";
import { applyEdit, applyVlogDiscard, emptyLevels, Version } from "./version.ts";
import { checkEdit, failInvalid, type AddedFile, type FileMeta, type VersionEdit } from "./version-edit.ts";

export const MANIFEST_ROTATE_BYTES_DEFAULT = 4 * 1024 * 1024;

export interface VersionSetOptions {
  /** Start a new manifest once the live one holds this many bytes (default 4 MiB). */
  manifestRotateBytes?: number;
  /** recover() and load(): replay this manifest instead of the one CURRENT names (see findNewestValidManifest); recover() rewrites CURRENT, load() does not. */
  manifestNumber?: number;
  /** create(): initial counters (defaults 1, 0, 0), e.g. to start above the numbers of existing logs. */
  nextFileNumber?: number;
  logNumber?: number;
  lastSeq?: number;
}

/** How the last recover() went, for the caller's log. */
export interface RecoveryInfo {
  fromManifest: number;
  records: number;
  tornTailBytes: number;
}

/** What the directory holds, for deciding between create() and recover(). */
export type ManifestProbe = "none" | "current" | "manifests-without-current";

interface SetState {
  levels: readonly (readonly FileMeta[])[];
  lastSeq: number;
  logNumber: number;
  compactPointers: ReadonlyMap<number, string>;
  vlogDiscard: ReadonlyMap<number, number>;
}

export class VersionSet {
  readonly fs: FileSystem;
  readonly dir: string;
  recoveryInfo: RecoveryInfo | undefined;
  private readonly random: Random;
  private readonly rotateBytes: number;
  private readonly live = new Set<Version>();
  private cur: Version;
  private fileNumberNext: number;
  private seqLast: number;
  private logNumberValue: number;
  private compactPointers: ReadonlyMap<number, string>;
  /** Replaced (never mutated) by every edit that changes it, so a map handed out stays as it was. */
  private discard: ReadonlyMap<number, number>;
  private writer: ManifestWriter | undefined;
  private manifestNumberLive = 0;
  private needsRotation = true;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readOnlyMode = false;

  private constructor(fs: FileSystem, dir: string, random: Random, options: VersionSetOptions, state: SetState, fileNumberNext: number) { // A
    const rotateBytes = options.manifestRotateBytes ?? MANIFEST_ROTATE_BYTES_DEFAULT;
    if (!Number.isSafeInteger(rotateBytes) || rotateBytes < 1) throw new InvalidArgumentError(`manifestRotateBytes must be a positive integer, got ${rotateBytes}`);
    this.fs = fs;
    this.dir = dir;
    this.random = random;
    this.rotateBytes = rotateBytes;
    this.cur = this.newVersion(state.levels);
    this.seqLast = state.lastSeq;
    this.logNumberValue = state.logNumber;
    this.compactPointers = state.compactPointers;
    this.discard = state.vlogDiscard;
    this.fileNumberNext = Math.max(fileNumberNext, ...listManifests(fs, dir).map((n) => n + 1));
  }

  /** Whether `dir` holds CURRENT, only manifests (a create that crashed, or a lost CURRENT), or neither. */
  static probe(fs: FileSystem, dir: string): ManifestProbe { // A
    if (fs.stat(dir)?.isDirectory !== true) return "none";
    if (fs.stat(joinPath(dir, CURRENT_FILE)) !== undefined) return "current";
    return listManifests(fs, dir).length > 0 ? "manifests-without-current" : "none";
  }

  /**
   * Starts the manifest of a new database: MANIFEST-N with an empty snapshot,
   * then CURRENT. Refuses if CURRENT exists. Manifests left without CURRENT
   * are not touched (N is chosen above them).
   */
  static async create(fs: FileSystem, dir: string, random: Random = systemRandom(), options: VersionSetOptions = {}): Promise<VersionSet> { // PA
    if (fs.stat(joinPath(dir, CURRENT_FILE)) !== undefined) {
      throw new InvalidArgumentError(`${dir} already holds a database (CURRENT exists); use VersionSet.recover`);
    }
    const counters = [options.nextFileNumber ?? 1, options.logNumber ?? 0, options.lastSeq ?? 0];
    for (const c of counters) if (!Number.isSafeInteger(c) || c < 0) throw new InvalidArgumentError(`initial counters must be non-negative integers, got ${c}`);
    const state: SetState = { levels: emptyLevels(), logNumber: counters[1]!, lastSeq: counters[2]!, compactPointers: new Map(), vlogDiscard: new Map() };
    const vs = new VersionSet(fs, dir, random, options, state, Math.max(1, counters[0]!, counters[1]! + 1));
    await vs.rotate(state);
    return vs;
  }

  /**
   * Opens the manifest CURRENT names (or `options.manifestNumber`), replays
   * it, writes its state to a fresh manifest, points CURRENT there and
   * removes every other manifest. CorruptionError (naming file and offset)
   * if CURRENT or the manifest is missing or damaged.
   */
  static async recover(fs: FileSystem, dir: string, random: Random = systemRandom(), options: VersionSetOptions = {}): Promise<VersionSet> { // PA
    const from = options.manifestNumber ?? readCurrent(fs, dir);
    const st = replayManifest(fs, dir, from);
    const state: SetState = { levels: st.levels, lastSeq: st.lastSeq, logNumber: st.logNumber, compactPointers: st.compactPointers, vlogDiscard: st.vlogDiscard };
    const vs = new VersionSet(fs, dir, random, options, state, st.nextFileNumber);
    vs.recoveryInfo = { fromManifest: from, records: st.records, tornTailBytes: st.tornTailBytes };
    await vs.rotate(state);
    for (const n of listManifests(fs, dir)) if (n !== vs.manifestNumber) removeQuietly(fs, joinPath(dir, manifestFileName(n)));
    return vs;
  }

  /**
   * The read-only open: replays the manifest CURRENT names (or
   * `options.manifestNumber`) into a VersionSet without writing a byte, so
   * a torn tail stays on disk and the next read-write recover() drops it.
   * CorruptionError if CURRENT or the manifest is missing or damaged, as for
   * recover(). logAndApply, newFileNumber and rotation throw ReadOnlyError.
   */
  static async load(fs: FileSystem, dir: string, options: VersionSetOptions = {}): Promise<VersionSet> { // PA
    const from = options.manifestNumber ?? readCurrent(fs, dir);
    const st = replayManifest(fs, dir, from);
    const state: SetState = { levels: st.levels, lastSeq: st.lastSeq, logNumber: st.logNumber, compactPointers: st.compactPointers, vlogDiscard: st.vlogDiscard };
    const vs = new VersionSet(fs, dir, systemRandom(), options, state, st.nextFileNumber);
    vs.readOnlyMode = true;
    vs.manifestNumberLive = from;
    vs.recoveryInfo = { fromManifest: from, records: st.records, tornTailBytes: st.tornTailBytes };
    return vs;
  }

  /**
   * A read-only, empty set for a read-only open of a directory that has no
   * manifest (a new or a WAL-only database): no files, log number 0.
   */
  static emptyReadOnly(fs: FileSystem, dir: string): VersionSet { // A
    const state: SetState = { levels: emptyLevels(), lastSeq: 0, logNumber: 0, compactPointers: new Map(), vlogDiscard: new Map() };
    const vs = new VersionSet(fs, dir, systemRandom(), {}, state, 1);
    vs.readOnlyMode = true;
    return vs;
  }

  /** Whether this set came from load(): it can be read but never changed. */
  get readOnly(): boolean { // A
    return this.readOnlyMode;
  }

  /** The current version (not referenced for the caller: ref() it to keep its files alive). */
  current(): Version { // A
    return this.cur;
  }

  get lastSeq(): number { // A
    return this.seqLast;
  }

  /** Raises the last sequence number (recorded with the next edit). */
  setLastSeq(seq: number): void { // A
    if (!Number.isSafeInteger(seq) || seq < this.seqLast) throw new InvalidArgumentError(`setLastSeq: ${seq} is below the last sequence ${this.seqLast}`);
    this.seqLast = seq;
  }

  get logNumber(): number { // A
    return this.logNumberValue;
  }

  /** The number newFileNumber() will hand out next. */
  get nextFileNumber(): number { // A
    return this.fileNumberNext;
  }

  /** A new file number, never handed out before (made durable by the next edit or rotation). */
  newFileNumber(): number { // A
    if (this.readOnlyMode) throw new ReadOnlyError(this.dir);
    return this.fileNumberNext++;
  }

  /** Makes sure `n` is never handed out (e.g. a log found on disk). */
  markFileNumberUsed(n: number): void { // A
    if (n >= this.fileNumberNext) this.fileNumberNext = n + 1;
  }

  compactPointer(level: number): string | undefined { // A
    return this.compactPointers.get(level);
  }

  /**
   * Value-log file number -> record bytes of that file that are garbage
   * (versions pointing at them were dropped by a durable flush or
   * compaction edit). Reflects exactly the edits installed so far; the map
   * returned is never changed afterwards (the next edit makes a new one).
   * A file with no garbage recorded is absent.
   */
  vlogDiscard(): ReadonlyMap<number, number> { // A
    return this.discard;
  }

  /**
   * Drops the discard total of value-log file `fileNumber` (GC deleted it),
   * durably: an edit of its own (tag 8) through logAndApply, so it is
   * ordered with every other edit and survives a crash like them. A later
   * delta for the same number starts a new total. Forgetting a file with no
   * total is allowed (the edit is still written).
   */
  forgetValueLogFile(fileNumber: number): Promise<Version> { // A
    return this.logAndApply({ vlogForget: [fileNumber] });
  }

  /** The number of the live manifest (still readable after close()). */
  get manifestNumber(): number { // A
    return this.manifestNumberLive;
  }

  get manifestSizeBytes(): number { // A
    return this.writer?.sizeBytes ?? 0;
  }

  /** Numbers of the files of every version still referenced (the current one included). */
  liveFileNumbers(): Set<number> { // A
    const out = new Set<number>();
    for (const v of this.live) v.forEachFile((f) => out.add(f.fileNumber));
    return out;
  }

  /**
   * Makes `edit` durable in the manifest, then installs and returns the new
   * current version (not referenced for the caller). Calls run one at a
   * time in call order. InvalidArgumentError (nothing written) for an edit
   * that does not fit the current version; an I/O failure rejects with the
   * edit's fate unknown (it may appear after a restart) and the next edit
   * starts a new manifest.
   */
  logAndApply(edit: VersionEdit): Promise<Version> { // PA
    if (this.readOnlyMode) return Promise.reject(new ReadOnlyError(this.dir));
    const run = this.queue.then(() => this.applyNow(edit));
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** Waits for pending edits, then closes the manifest. Later logAndApply calls throw ClosedError. */
  async close(): Promise<void> { // A
    await this.queue;
    if (this.closed) return;
    this.closed = true;
    this.writer?.close();
    this.writer = undefined;
  }

  private async applyNow(edit: VersionEdit): Promise<Version> { // PA
    if (this.closed) throw new ClosedError("version set");
    const e = checkEdit(edit, failInvalid);
    if (e.logNumber !== undefined && e.logNumber < this.logNumberValue) failInvalid(`logNumber ${e.logNumber} is below the current ${this.logNumberValue}`);
    for (const a of e.added ?? []) checkHandedOut(a, this.fileNumberNext);
    for (const d of e.vlogDiscard ?? []) checkHandedOut(d, this.fileNumberNext);
    const pointers = new Map(this.compactPointers);
    for (const c of e.compactPointers ?? []) pointers.set(c.level, c.key);
    const next: SetState = {
      levels: applyEdit(this.cur.levels, e, failInvalid),
      lastSeq: Math.max(this.seqLast, e.lastSeq ?? 0),
      logNumber: e.logNumber ?? this.logNumberValue,
      compactPointers: pointers,
      vlogDiscard: applyVlogDiscard(this.discard, e, failInvalid),
    };
    if (this.needsRotation || this.writer === undefined || this.writer.sizeBytes >= this.rotateBytes) {
      await this.rotate(next);
    } else {
      try {
        this.writer.append({ ...e, lastSeq: next.lastSeq, nextFileNumber: this.fileNumberNext });
        await this.writer.sync();
      } catch (err) {
        this.needsRotation = true;
        throw err;
      }
    }
    this.install(next);
    return this.cur;
  }

  /**
   * Writes `state` as the snapshot of a new manifest, makes it durable,
   * switches CURRENT to it, then drops the old manifest. On failure the old
   * manifest stays live and the next edit tries again.
   */
  private async rotate(state: SetState): Promise<void> { // PA
    if (this.readOnlyMode) throw new ReadOnlyError(this.dir);
    const n = this.newFileNumber();
    const w = ManifestWriter.create(this.fs, this.dir, n, this.random.nextU32(), this.snapshotOf(state));
    try {
      await w.sync();
      await this.fs.syncDir(this.dir);
      await writeCurrent(this.fs, this.dir, n);
    } catch (err) {
      w.close();
      this.needsRotation = true;
      throw err;
    }
    const old = this.writer;
    this.writer = w;
    this.manifestNumberLive = n;
    this.needsRotation = false;
    if (old !== undefined) {
      old.close();
      removeQuietly(this.fs, old.path);
    }
  }

  private snapshotOf(state: SetState): VersionEdit { // A
    const added: AddedFile[] = [];
    state.levels.forEach((files, level) => { for (const f of files) added.push({ level, ...f }); });
    return {
      added,
      compactPointers: [...state.compactPointers].map(([level, key]) => ({ level, key })),
      logNumber: state.logNumber,
      nextFileNumber: this.fileNumberNext,
      lastSeq: state.lastSeq,
      vlogDiscard: [...state.vlogDiscard].map(([fileNumber, bytes]) => ({ fileNumber, bytes })),
    };
  }

  private install(state: SetState): void { // PA
    const old = this.cur;
    this.cur = this.newVersion(state.levels);
    this.seqLast = state.lastSeq;
    this.logNumberValue = state.logNumber;
    this.compactPointers = state.compactPointers;
    this.discard = state.vlogDiscard;
    old.unref();
  }

  private newVersion(levels: readonly (readonly FileMeta[])[]): Version { // A
    const v = new Version(levels, (released) => this.live.delete(released)).ref();
    this.live.add(v);
    return v;
  }
}

function checkHandedOut(a: { readonly fileNumber: number }, fileNumberNext: number): void { // A
  if (a.fileNumber >= fileNumberNext) failInvalid(`file number ${a.fileNumber} was not handed out by newFileNumber()`);
}

/** Removes an obsolete file; a failure only leaves garbage that the next recover() removes. */
function removeQuietly(fs: FileSystem, path: string): void { // A
  try {
    fs.remove(path);
  } catch {
    // Obsolete either way: the live manifest no longer depends on it.
  }
}
