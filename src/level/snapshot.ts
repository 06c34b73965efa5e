/**
 * Explicit snapshots of the Level API (`db.snapshot()`), each backed by one
 * engine Snapshot (a sequence number the engine keeps readable until it is
 * released). abstract-level counts references and calls `_close()` once no
 * read is in flight; that is where the engine snapshot is released.
 */
import { AbstractSnapshot } from "abstract-level";
import type { Snapshot } from "../index.ts";

/** abstract-level's typings omit the constructor that takes `{ owner }`; this is its real shape. */
const SnapshotBase = AbstractSnapshot as unknown as new (options: { owner: object }) => AbstractSnapshot;

export class OuroborosSnapshot extends SnapshotBase {
  /** The engine snapshot that reads with `{ snapshot: this }` use. */
  readonly engine: Snapshot;

  constructor(options: { owner: object }, engine: Snapshot) { // A
    super(options);
    this.engine = engine;
  }

  /** Called by abstract-level exactly once, after the last in-flight read that uses it. */
  async _close(): Promise<void> { // A
    this.engine.release();
  }
}
