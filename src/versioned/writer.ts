/**
 * The store's write lane (SPEC.md 12.6): every change to the keyspace runs
 * here, one task at a time, so a put never reads heads that another write
 * is about to replace.
 *
 * Puts and deletes queue into a *group*: the puts made while the previous
 * task runs all go into the next engine batch together, and each is
 * acknowledged when that batch is written (all of a group's versions land
 * or none do, but each put still reports its own argument errors and
 * corrupt heads on its own). Inside a group, a key written twice gets the
 * first version as the second one's parent, as if they had been separate
 * batches; the heads entry of each key and the clock's high-water mark are
 * written once per group. A put awaited alone is a group of one.
 *
 * Other writers (ingest, prune) run as exclusive tasks in the same lane.
 *
 * Cost sketch of one put inside a group: a synchronous heads get (a bloom
 * probe for a new key), SHA-256 of the value and of the ~100-byte record, a
 * synchronous reference-count get for a value not seen in the group, and
 * four batch entries; one engine write (WAL append) per group.
 */
import type { DB } from "../engine/db.ts";
import { bytesToLatin1 } from "../encoding/bytes.ts";
import { sha256 } from "../platform/sha256.ts";
import { encodeHlc, type Hlc, type HlcTimestamp } from "./hlc.ts";
import { compareIds, concatKey, decodeHeads, encodeHeads, historyKey, keyPrefixFor, NS_HEADS, NS_VERSION } from "./keyspace.ts";
import { encodeVersionRecord, RECORD_MAX_PARENTS, TOMBSTONE_VALUE_HASH, versionIdBytes, type VersionRecord } from "./record.ts";
import { recordToVersion, type Version } from "./record-version.ts";
import { ValueRefs } from "./value-refs.ts";
import type { HeadCache } from "./head-cache.ts";

/** Most puts in one group, and most value bytes (a group closes at whichever comes first). */
export const GROUP_MAX_OPS = 1024;
export const GROUP_MAX_VALUE_BYTES = 4 * 1024 * 1024;

interface PendingWrite {
  key: Uint8Array;
  /** Undefined: a tombstone. */
  value: Uint8Array | undefined;
  resolve(v: Version): void;
  reject(e: unknown): void;
}

interface HeadsState {
  engineKey: Uint8Array;
  ids: Uint8Array[];
  changed: boolean;
}

export class StoreWriter {
  private lane: Promise<unknown> = Promise.resolve();
  /** The group that has not started yet: new puts join it. */
  private open: PendingWrite[] | undefined;
  private openBytes = 0;

  constructor( // A
    private readonly db: DB,
    private readonly hlc: Hlc,
    private readonly nodeId: string,
    private readonly metaHlcKey: Uint8Array,
    private readonly cache: HeadCache,
  ) {}

  /** Queues a new version of `key` (a tombstone when `value` is undefined); resolves when it is written. */
  write(key: Uint8Array, value: Uint8Array | undefined): Promise<Version> { // A
    return new Promise<Version>((resolve, reject) => { // A
      const bytes = value?.length ?? 0;
      let g = this.open;
      if (g === undefined || g.length >= GROUP_MAX_OPS || (g.length > 0 && this.openBytes + bytes > GROUP_MAX_VALUE_BYTES)) {
        const group: PendingWrite[] = [];
        g = group;
        void this.exclusive(() => { // A
          if (this.open === group) this.open = undefined;
          // A fault outside any one put settles them all (settling twice is a no-op): no put waits for good.
          return this.commitGroup(group).catch((e: unknown) => { // A
            for (const w of group) w.reject(e);
          });
        });
        // After exclusive(), which closed any open group: puts from now on join this one.
        this.open = group;
        this.openBytes = 0;
      }
      g.push({ key, value, resolve, reject });
      this.openBytes += bytes;
    });
  }

  /**
   * Runs `task` alone in the lane, after everything queued before it; a
   * failed task does not stop the next. The open group closes: a put made
   * after this call runs after `task`, as call order says.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> { // A
    this.open = undefined;
    const run = this.lane.then(task, task);
    this.lane = run.catch(() => undefined); // A
    return run;
  }

  /** Resolves when everything queued so far has finished (successfully or not). */
  idle(): Promise<void> { // A
    return this.lane.then(() => undefined); // A
  }

  /** Builds every version of the group into one batch and writes it; never rejects (each put is settled instead). */
  private async commitGroup(group: readonly PendingWrite[]): Promise<void> { // PA
    const b = this.db.batch();
    const refs = new ValueRefs(this.db, b);
    const heads = new Map<string, HeadsState>();
    const written: Array<[PendingWrite, Version]> = [];
    let last: HlcTimestamp | undefined;
    for (const w of group) {
      try {
        const state = this.headsOf(w.key, heads);
        // A record names at most RECORD_MAX_PARENTS parents: past that, the put
        // supersedes the lowest ids and the rest stay heads (conflicts) for later puts.
        const parents = state.ids.length > RECORD_MAX_PARENTS ? state.ids.slice(0, RECORD_MAX_PARENTS) : state.ids;
        const hlc = this.hlc.now();
        const valueHash = w.value === undefined ? TOMBSTONE_VALUE_HASH : sha256(w.value);
        const record: VersionRecord = {
          key: w.key, parents, hlc, node: this.nodeId, deleted: w.value === undefined, valueHash, valueSize: w.value?.length ?? 0,
        };
        const bytes = encodeVersionRecord(record);
        const id = versionIdBytes(bytes, sha256);
        // Throws before touching the batch when the stored count is malformed.
        if (w.value !== undefined) refs.add(valueHash, w.value);
        b.put(concatKey(Uint8Array.of(NS_VERSION), id), bytes);
        b.put(historyKey(w.key, hlc, id), new Uint8Array(0));
        // The new version supersedes its parents: usually every head, so it is the only one now.
        state.ids = parents === state.ids ? [id] : sortedIds([...state.ids.slice(RECORD_MAX_PARENTS), id]);
        state.changed = true;
        last = hlc;
        written.push([w, recordToVersion(record, id)]);
      } catch (e) {
        w.reject(e);
      }
    }
    if (written.length === 0) return;
    for (const s of heads.values()) if (s.changed) b.put(s.engineKey, encodeHeads(s.ids));
    b.put(this.metaHlcKey, encodeHlc(last!));
    const changed = [...heads].filter(([, st]) => st.changed).map(([k]) => k); // A
    this.cache.beginWrite(changed);
    try {
      await this.db.write(b);
    } catch (e) {
      for (const [w] of written) w.reject(e);
      return;
    } finally {
      this.cache.endWrite(changed);
    }
    for (const [w, v] of written) w.resolve(v);
  }

  /** The key's heads as this group sees them: its own earlier puts, else the stored entry. */
  private headsOf(key: Uint8Array, heads: Map<string, HeadsState>): HeadsState { // PA
    const engineKey = keyPrefixFor(NS_HEADS, key);
    const mapKey = bytesToLatin1(engineKey);
    const seen = heads.get(mapKey);
    if (seen !== undefined) return seen;
    const stored = this.db.getSync(engineKey);
    const ids = stored === undefined ? [] : decodeHeads(stored, key);
    const state: HeadsState = { engineKey, ids, changed: false };
    heads.set(mapKey, state);
    return state;
  }
}

function sortedIds(ids: Uint8Array[]): Uint8Array[] { // A
  return ids.sort(compareIds);
}
