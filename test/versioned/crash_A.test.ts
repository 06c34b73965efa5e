/**
 * Crash at every FS call of a versioned workload (puts and deletes, with
 * memtable flushes and value-log writes, across a close and a reopen): the
 * survivor opens as a store, verifies clean (no version without its
 * history entry, no head naming a missing record, every hash right), and
 * holds exactly the first k writes of the workload for some k that covers
 * every write acknowledged durably (phase 1 runs with sync off and ends with
 * a clean close; phase 2 acknowledges every write with sync on).
 */
import { describe, expect, test } from "vitest";
import { expectCleanSurvivor } from "../support/store-checks.ts";
import { MemFileSystem, SeededRandom, VirtualClock, openStore, silentLog, type Store, type StoreOptions, type Version } from "../../src/index.ts";

const dec = new TextDecoder();
const T0 = 1_700_000_000_000;
const KEYS = ["a", "b", "c\u0000", ""];

function opts(fs: MemFileSystem, clock: VirtualClock, sync: boolean): StoreOptions {
  // A tiny memtable and value threshold: the workload flushes tables and writes the value log.
  return { fs, clock, sync, log: silentLog(), random: new SeededRandom(9), nodeId: "node-crash", memtableBytes: 2048, valueThreshold: 64 };
}

interface Write {
  key: string;
  /** undefined: a delete. */
  value?: string;
}

/** 22 writes: puts of small and large values (some repeated), and deletes. */
const WRITES: Write[] = Array.from({ length: 22 }, (_, i) => { // A
  const key = KEYS[(i * 3) % KEYS.length]!;
  if (i % 7 === 6) return { key };
  return { key, value: i % 4 === 0 ? `large-${i % 3}-`.repeat(20) : `v${i % 5}` };
});
const PHASE1 = 10;

async function apply(s: Store, w: Write): Promise<Version> {
  return w.value === undefined ? s.delete(w.key) : s.put(w.key, w.value);
}

/**
 * Phase 1 (sync off), a clean close, phase 2 (sync on). `durable` is raised
 * to the number of writes that must survive anything from then on.
 */
async function workload(fs: MemFileSystem, done: (v: Version) => void, durable: (n: number) => void): Promise<void> {
  const clock = new VirtualClock(T0);
  let s = await openStore("/db", opts(fs, clock, false));
  try {
    for (let i = 0; i < PHASE1; i++) {
      clock.advance(1 + (i % 2));
      done(await apply(s, WRITES[i]!));
    }
    await s.close();
    durable(PHASE1);
    s = await openStore("/db", opts(fs, clock, true));
    for (let i = PHASE1; i < WRITES.length; i++) {
      clock.advance(1);
      done(await apply(s, WRITES[i]!));
      durable(i + 1);
    }
    await s.close();
  } finally {
    await s.close().catch(() => undefined); // A
  }
}

/** The value of every key after the first k writes. */
function modelAfter(k: number): Map<string, string | undefined> {
  const m = new Map<string, string | undefined>();
  for (let i = 0; i < k; i++) m.set(WRITES[i]!.key, WRITES[i]!.value);
  return m;
}

describe("versioned store crash safety", () => {
  test("a crash at any FS call of puts and deletes recovers to a clean prefix of the writes", async () => {
    const base = new MemFileSystem();
    const first = await openStore("/db", opts(base, new VirtualClock(T0), true));
    await first.close();

    // Probe: the ids the writes get (deterministic: clock, node id, parents) and the FS calls they take.
    const probe = base.clone();
    const ids: string[] = [];
    const startCalls = probe.callCount;
    await workload(probe, (v) => ids.push(v.id), () => undefined); // A
    const calls = probe.callCount - startCalls;
    expect(ids.length).toBe(WRITES.length);
    expect(new Set(ids).size).toBe(WRITES.length);
    expect(probe.list("/db").some((n) => n.endsWith(".sst"))).toBe(true);
    expect(probe.list("/db").some((n) => n.endsWith(".vlog"))).toBe(true);
    console.info(`versioned crash test: ${calls} FS calls, a crash at every one`);

    const prefixes = new Set<number>();
    for (let n = 1; n <= calls; n++) {
      const fs = base.clone();
      let durable = 0;
      fs.armCrash(n, n);
      await workload(fs, () => undefined, (d) => (durable = d)).catch(() => undefined); // A
      const survivor = fs.lastCrash() ?? fs.crash(n);
      const where = `crash at FS call ${n}/${calls}`;

      const s = await openStore("/db", opts(survivor, new VirtualClock(T0 + 1_000_000), false));
      const held = new Set<string>();
      for (const key of KEYS) for await (const v of s.history(key)) held.add(v.id);
      const k = held.size;
      expect(k, `${where}: ${k} versions, ${durable} acknowledged durably`).toBeGreaterThanOrEqual(durable);
      expect([...held].sort(), `${where}: the versions are the first ${k} writes`).toEqual(ids.slice(0, k).sort());
      for (const [key, value] of modelAfter(k)) {
        const got = await s.get(key);
        expect(got === undefined ? undefined : dec.decode(got), `${where}: key ${JSON.stringify(key)}`).toBe(value);
        const lastId = ids[WRITES.map((w) => w.key).lastIndexOf(key, k - 1)];
        expect((await s.heads(key)).map((v) => v.id), `${where}: heads of ${JSON.stringify(key)}`).toEqual([lastId]);
      }
      // The survivor takes new writes.
      await s.put("a", "after the crash");
      await s.close();

      await expectCleanSurvivor(survivor, "/db", k + 1, where);
      prefixes.add(k);
    }
    // The crashes landed all over the workload, not in one spot.
    expect(prefixes.size).toBeGreaterThan(WRITES.length / 2);
    expect(prefixes.has(WRITES.length)).toBe(true);
  });
});
