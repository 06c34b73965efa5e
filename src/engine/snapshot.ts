/**
 * Snapshots: a sequence number at which reads see the database, frozen.
 * The list of live snapshots tells compaction (next issue) which old
 * versions must be kept; an open iterator holds an implicit snapshot.
 */
import { ClosedError } from "../errors.ts";

export class SnapshotList {
  private counts = new Map<number, number>();
  private liveCount = 0;

  acquire(seq: number): void { // A
    this.counts.set(seq, (this.counts.get(seq) ?? 0) + 1);
    this.liveCount++;
  }

  release(seq: number): void { // A
    const n = this.counts.get(seq) ?? 0;
    if (n <= 1) this.counts.delete(seq);
    else this.counts.set(seq, n - 1);
    if (n > 0) this.liveCount--;
  }

  /** The oldest sequence number some reader still sees, or undefined if none. */
  oldest(): number | undefined { // A
    let min: number | undefined;
    for (const seq of this.counts.keys()) if (min === undefined || seq < min) min = seq;
    return min;
  }

  /** Every sequence number some reader still sees, ascending, once each. */
  sequences(): number[] { // A
    return [...this.counts.keys()].sort((a, b) => a - b);
  }

  get size(): number { // A
    return this.liveCount;
  }
}

/** A fixed point in time to read at. Release it when done so old versions can be dropped. */
export class Snapshot {
  readonly seq: number;
  private released = false;

  constructor(seq: number, private readonly list: SnapshotList) { // A
    this.seq = seq;
    list.acquire(seq);
  }

  get isReleased(): boolean { // A
    return this.released;
  }

  /** Idempotent. */
  release(): void { // A
    if (this.released) return;
    this.released = true;
    this.list.release(this.seq);
  }

  /** The sequence number to read at; throws ClosedError if released. */
  checkedSeq(): number { // A
    if (this.released) throw new ClosedError("snapshot");
    return this.seq;
  }
}
