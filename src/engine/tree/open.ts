/**
 * Opening the tree: find the manifest, load the version, replay the logs the
 * manifest still needs, continue the newest log, and clear away what a crash
 * left behind (tables never named by a durable edit, obsolete logs and
 * manifests).
 *
 * The directory can be in one of these states (VersionSet.probe):
 * - "current": a normal database. The manifest gives the table files and the
 *   log number; logs below it are already in tables.
 * - "none" without logs: a new database. The manifest is created first
 *   (MANIFEST and CURRENT), then the first log, so a crash in between
 *   leaves an empty database that opens.
 * - "none" with logs: a database written before tables existed (WAL-only,
 *   release 0.1). Its logs are replayed whole and a manifest with log
 *   number 0 is created, so every log keeps being replayed until the first
 *   flush moves the log number past them.
 * - "manifests-without-current": a crash while the very first manifest was
 *   being created. With no table on disk nothing depends on those
 *   manifests; they are removed and the case above applies. With tables on
 *   disk, which of them are live cannot be known: CorruptionError.
 *
 * A read-only open writes nothing: it loads the manifest (VersionSet.load)
 * and replays the logs into memory.
 */
import { CorruptionError } from "../../errors.ts";
import type { ClusterLog } from "../../log/clusterlog.ts";
import type { FileSystem } from "../../platform/fs.ts";
import type { Random } from "../../platform/random.ts";
import { listDbFiles, maxFileNumber } from "../files.ts";
import { VersionSet } from "../manifest/version-set.ts";
import type { ResolvedOptions } from "../options.ts";
import { recoverDatabase, type RecoveryResult } from "../recovery.ts";
import type { SnapshotList } from "../snapshot.ts";
import { Tree } from "./tree.ts";
import { ValueLog } from "../value-log.ts";

export interface OpenedTree {
  tree: Tree;
  recovery: RecoveryResult;
}

export async function openTree( // PA
  fs: FileSystem,
  dir: string,
  o: ResolvedOptions,
  log: ClusterLog,
  random: Random,
  snapshots: SnapshotList,
): Promise<OpenedTree> {
  const vs = await openVersionSet(fs, dir, o, random);
  let values: ValueLog | undefined;
  try {
    // Never hand out a number a file on disk already uses (logs, damaged copies, stray tables).
    vs.markFileNumberUsed(maxFileNumber(listDbFiles(fs, dir)));
    values = ValueLog.open({
      fs, dir, threshold: o.valueThreshold, fileBytes: o.vlogFileBytes, random, maxOpenFiles: o.tableCacheFiles,
      newFileNumber: () => vs.newFileNumber(), // A
    });
    const recovery = await recoverDatabase(fs, dir, {
      readOnly: o.readOnly,
      repair: o.repair,
      log,
      random,
      minLogNumber: vs.logNumber,
      newLogNumber: () => vs.newFileNumber(), // A
      pointerCheck: (key, pointer) => values!.missing(key, pointer), // A
      pointerBytes: (pointer) => values!.pointer(pointer).length, // A
      syncValues: () => values!.sync(), // A
    });
    // The manifest's last sequence covers flushed data whose logs are gone.
    if (recovery.lastSeq > vs.lastSeq) vs.setLastSeq(recovery.lastSeq);
    else recovery.lastSeq = vs.lastSeq;
    const tree = new Tree({ fs, dir, options: o, log, random, vs, snapshots, mem: recovery.memtable, wal: recovery.writer, values });
    tree.removeObsoleteFiles();
    return { tree, recovery };
  } catch (e) {
    values?.close();
    await vs.close().catch(() => undefined);
    throw e;
  }
}

async function openVersionSet(fs: FileSystem, dir: string, o: ResolvedOptions, random: Random): Promise<VersionSet> { // PA
  let probe = VersionSet.probe(fs, dir);
  if (probe === "manifests-without-current") {
    const files = listDbFiles(fs, dir);
    if (files.tables.length > 0) {
      throw new CorruptionError(
        `${dir} holds ${files.tables.length} table files and manifests but no CURRENT file: the live set of tables is unknown; restore CURRENT (it names the newest complete MANIFEST)`,
        { file: dir },
      );
    }
    probe = "none";
  }
  if (probe === "current") return o.readOnly ? VersionSet.load(fs, dir) : VersionSet.recover(fs, dir, random);
  if (o.readOnly) return VersionSet.emptyReadOnly(fs, dir);
  const files = listDbFiles(fs, dir);
  // Stray manifests of a crashed first creation are garbage: nothing refers to them.
  const vs = await VersionSet.create(fs, dir, random, { nextFileNumber: maxFileNumber(files) + 1, logNumber: 0 });
  return vs;
}
