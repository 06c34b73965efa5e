/**
 * `openStore`: opens the engine for a versioned store (carving the store's
 * read cache out of the engine's block cache and memory budget), loads or
 * makes the node id, and restores the clock's high-water mark, so a new
 * timestamp is above every one issued or observed before (SPEC.md 12).
 */
import { InvalidArgumentError } from "../errors.ts";
import { openDB, type DB } from "../engine/db.ts";
import { resolveOptions, type DBOptions } from "../engine/options.ts";
import { SystemClock, type Clock } from "../platform/clock.ts";
import { systemRandom, type Random } from "../platform/random.ts";
import { bytesToHex } from "../platform/sha256.ts";
import { decodeHlc, Hlc, HLC_ZERO } from "./hlc.ts";
import { META_HLC_KEY, META_NODE_KEY } from "./keyspace.ts";
import { nodeIdBytes } from "./record.ts";
import { checkPolicy, type PrunePolicy } from "./prune.ts";
import { HeadCache } from "./head-cache.ts";
import { Store } from "./store.ts";

const NODE_ID_RANDOM_BYTES = 12;

export interface StoreOptions extends DBOptions {
  /** This node's id (1..64 bytes of UTF-8); default: made once from `random` and kept in the store. */
  nodeId?: string;
  clock?: Clock;
  /** The policy `prune()` applies when called without one (default: keep everything). */
  retention?: PrunePolicy;
  /**
   * Bytes of the store's read cache of heads and their checked records
   * (head-cache.ts; 0: none). Taken out of the engine's block cache and
   * memory budget, so the total stays what the profile promises. Default: a
   * quarter of the profile's `cacheBytes` (server 64 MiB, mobile 2 MiB,
   * background 512 KiB).
   */
  readCacheBytes?: number;
}


/** Opens (creating if allowed) the versioned store in directory `path`. */
export async function openStore(path: string, options: StoreOptions = {}): Promise<Store> { // A
  if (options === null || typeof options !== "object") throw new InvalidArgumentError("options must be an object");
  const { nodeId, clock, retention, readCacheBytes, ...engine } = options;
  if (nodeId !== undefined) nodeIdBytes(nodeId);
  if (retention !== undefined) checkPolicy(retention);
  const resolved = resolveOptions(engine);
  const cacheBytes = readCacheBytes === undefined ? Math.floor(resolved.cacheBytes / 4) : readCacheBytes;
  if (!Number.isSafeInteger(cacheBytes) || cacheBytes < 0 || cacheBytes >= resolved.cacheBytes) {
    throw new InvalidArgumentError(`readCacheBytes must be an integer from 0 to below cacheBytes (${resolved.cacheBytes}), got ${String(readCacheBytes)}`);
  }
  const db = await openDB(path, { ...engine, cacheBytes: resolved.cacheBytes - cacheBytes, memoryBudgetBytes: resolved.memoryBudgetBytes - cacheBytes });
  try {
    const random = options.random ?? systemRandom();
    const node = await loadNodeId(db, nodeId, random);
    const lastBytes = await db.get(META_HLC_KEY);
    const last = lastBytes === undefined ? HLC_ZERO : decodeHlc(lastBytes);
    const c = clock ?? new SystemClock();
    return new Store(db, node, new Hlc(c, { last }), c, retention, new HeadCache(cacheBytes));
  } catch (e) {
    await db.close().catch(() => undefined);
    throw e;
  }
}

/** The stored node id, or the one given (kept on first open), or a new random one (kept). */
async function loadNodeId(db: DB, given: string | undefined, random: Random): Promise<string> { // A
  const stored = await db.get(META_NODE_KEY);
  if (stored !== undefined) {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(stored);
    if (given !== undefined && given !== text) {
      throw new InvalidArgumentError(`this store belongs to node "${text}", not "${given}"`);
    }
    return text;
  }
  let node = given;
  if (node === undefined) {
    const b = new Uint8Array(NODE_ID_RANDOM_BYTES);
    for (let i = 0; i < b.length; i++) b[i] = random.nextU32() & 0xff;
    node = bytesToHex(b);
  }
  await db.put(META_NODE_KEY, new TextEncoder().encode(node), { sync: true });
  return node;
}

