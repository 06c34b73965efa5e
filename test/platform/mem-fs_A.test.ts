import { describe, expect, test } from "vitest";
import { CrashedError, InvalidArgumentError, LockedError } from "../../src/errors.ts";
import { MemFileSystem } from "../../src/platform/mem-fs.ts";
import { fsContract } from "./fs-contract_A.ts";

fsContract("MemFileSystem", () => {
  const fs = new MemFileSystem();
  fs.mkdir("/db");
  return { fs, root: "/db", cleanup: () => {} };
});
fsContract("MemFileSystem (relative root)", () => {
  const fs = new MemFileSystem();
  fs.mkdir("data");
  return { fs, root: "data", cleanup: () => {} };
});

const SEEDS = Array.from({ length: 200 }, (_, i) => i);
const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);

function isPrefix(a: Uint8Array, of: Uint8Array): boolean {
  return a.length <= of.length && a.every((b, i) => b === of[i]);
}

/** A fresh FS with /db made durable, as a database would set it up. */
async function freshDb(): Promise<MemFileSystem> {
  const fs = new MemFileSystem();
  fs.mkdir("/db");
  await fs.syncDir("/");
  return fs;
}

function contents(fs: MemFileSystem, path: string): number[] | undefined {
  const got = fs.snapshotFiles().get(path);
  return got === undefined ? undefined : [...got];
}

describe("MemFileSystem crash semantics", () => {
  test("fsynced data in a syncDir'd file survives every crash", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/wal", { create: true });
    h.append(bytes(100, 7));
    await h.sync();
    await fs.syncDir("/db");
    for (const seed of SEEDS) expect(contents(fs.crashImage(seed), "/db/wal")).toEqual([...bytes(100, 7)]);
  });

  test("unsynced appends survive as a prefix: never less than the synced part, never bytes beyond what was written", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/wal", { create: true });
    h.append(bytes(10, 1));
    await h.sync();
    await fs.syncDir("/db");
    h.append(bytes(10, 2));
    h.append(bytes(10, 3));
    h.write(bytes(5, 4), 30);
    const written = fs.readFile("/db/wal");
    const lengths = new Set<number>();
    for (const seed of SEEDS) {
      const got = fs.crashImage(seed).readFile("/db/wal");
      expect(got.length).toBeGreaterThanOrEqual(10);
      expect(isPrefix(got, written)).toBe(true);
      lengths.add(got.length);
    }
    // The seeds reach all kinds of outcomes: nothing lost, everything unsynced lost, torn in the middle.
    expect(lengths.has(10)).toBe(true);
    expect(lengths.has(35)).toBe(true);
    expect([...lengths].some((n) => n % 10 !== 0 && n !== 35)).toBe(true);
  });

  test("a truncate is atomic and ordered with the writes around it", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    h.append(bytes(8, 1));
    await h.sync();
    await fs.syncDir("/db");
    h.truncate(4);
    h.append(bytes(2, 9));
    const seen = new Set<string>();
    for (const seed of SEEDS) seen.add(JSON.stringify(contents(fs.crashImage(seed), "/db/f")));
    // Every survivor is a state the process passed through (the 2-byte append may tear to 1 byte).
    const allowed = new Set([
      JSON.stringify([1, 1, 1, 1, 1, 1, 1, 1]),
      JSON.stringify([1, 1, 1, 1]),
      JSON.stringify([1, 1, 1, 1, 9]),
      JSON.stringify([1, 1, 1, 1, 9, 9]),
    ]);
    for (const s of seen) expect(allowed.has(s)).toBe(true);
    expect(seen.size).toBe(4);
  });

  test("rename is atomic: the replaced file has the old or the new content, never neither", async () => {
    const fs = await freshDb();
    for (const [name, fill] of [["CURRENT", 1], ["tmp", 2]] as const) {
      const h = fs.open(`/db/${name}`, { create: true });
      h.append(bytes(4, fill));
      await h.sync();
      h.close();
    }
    await fs.syncDir("/db");
    fs.rename("/db/tmp", "/db/CURRENT");
    const outcomes = new Set<string>();
    for (const seed of SEEDS) {
      const files = fs.crashImage(seed).snapshotFiles();
      const current = files.get("/db/CURRENT");
      expect(current).toBeDefined();
      if (current![0] === 2) expect(files.has("/db/tmp")).toBe(false);
      else expect([...files.get("/db/tmp")!]).toEqual([2, 2, 2, 2]);
      outcomes.add(String(current![0]));
    }
    expect(outcomes).toEqual(new Set(["1", "2"]));
  });

  test("a renamed file is under exactly one of its names", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/a", { create: true });
    h.append(bytes(3, 5));
    await h.sync();
    await fs.syncDir("/db");
    fs.rename("/db/a", "/db/b");
    for (const seed of SEEDS) {
      const files = fs.crashImage(seed).snapshotFiles();
      expect(Number(files.has("/db/a")) + Number(files.has("/db/b"))).toBe(1);
    }
    await fs.syncDir("/db");
    for (const seed of SEEDS) expect([...fs.crashImage(seed).snapshotFiles().keys()]).toEqual(["/db/b"]);
  });

  test("a file created without syncDir may vanish even after its own fsync; with syncDir it stays", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/new", { create: true });
    h.append(bytes(3, 1));
    await h.sync();
    const present = SEEDS.map((seed) => fs.crashImage(seed).stat("/db/new") !== undefined);
    expect(present).toContain(true);
    expect(present).toContain(false);
    await fs.syncDir("/db");
    for (const seed of SEEDS) expect(contents(fs.crashImage(seed), "/db/new")).toEqual([1, 1, 1]);
  });

  test("a removed file may come back until syncDir; a new directory needs syncDir of its parent", async () => {
    const fs = await freshDb();
    fs.open("/db/old", { create: true }).close();
    await fs.syncDir("/db");
    fs.remove("/db/old");
    fs.mkdir("/db/sub");
    const old = SEEDS.map((seed) => fs.crashImage(seed).stat("/db/old") !== undefined);
    const sub = SEEDS.map((seed) => fs.crashImage(seed).stat("/db/sub") !== undefined);
    expect(old).toContain(true);
    expect(old).toContain(false);
    expect(sub).toContain(false);
    await fs.syncDir("/db");
    for (const seed of SEEDS) {
      expect(fs.crashImage(seed).stat("/db/old")).toBeUndefined();
      expect(fs.crashImage(seed).stat("/db/sub")?.isDirectory).toBe(true);
    }
  });

  test("syncDir of one directory commits the journal in order, so earlier ops elsewhere ride along", async () => {
    const fs = await freshDb();
    fs.mkdir("/other");
    fs.open("/db/f", { create: true }).close();
    await fs.syncDir("/db");
    for (const seed of SEEDS.slice(0, 20)) expect(fs.crashImage(seed).stat("/other")?.isDirectory).toBe(true);
  });

  test("an fsync only covers writes issued before it was called", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    await fs.syncDir("/db");
    h.append(bytes(2, 1));
    const syncing = h.sync();
    h.append(bytes(2, 2));
    await syncing;
    const lengths = new Set(SEEDS.map((seed) => fs.crashImage(seed).readFile("/db/f").length));
    expect(Math.min(...lengths)).toBe(2);
    expect(lengths.has(4)).toBe(true);
  });

  test("the same seed gives the same image, from crashImage, from crash, and from a clone", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    for (let i = 0; i < 20; i++) h.append(bytes(7, i));
    fs.open("/db/g", { create: true }).append(bytes(50, 3));
    for (const seed of [1, 2, 3, 99]) {
      const a = fs.crashImage(seed).snapshotFiles();
      expect(fs.crashImage(seed).snapshotFiles()).toEqual(a);
      expect(fs.clone().crash(seed).snapshotFiles()).toEqual(a);
    }
    const distinct = new Set(SEEDS.map((seed) => JSON.stringify([...fs.crashImage(seed).snapshotFiles()].map(([k, v]) => [k, v.length]))));
    expect(distinct.size).toBeGreaterThan(5);
  });

  test("after crash() the FS and its handles are dead; the survivor is a working FS", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    h.append(bytes(1, 1));
    const survivor = fs.crash(5);
    expect(fs.isCrashed).toBe(true);
    expect(fs.lastCrash()).toBe(survivor);
    expect(() => fs.list("/db")).toThrow(CrashedError);
    expect(() => h.append(bytes(1, 1))).toThrow(CrashedError);
    expect(() => h.close()).toThrow(CrashedError);
    await expect(h.sync()).rejects.toBeInstanceOf(CrashedError);
    await expect(fs.syncDir("/db")).rejects.toBeInstanceOf(CrashedError);
    expect(() => fs.crash(1)).toThrow(CrashedError);
    survivor.mkdir("/db", { recursive: true });
    const h2 = survivor.open("/db/after", { create: true });
    h2.append(bytes(2, 4));
    expect([...survivor.readFile("/db/after")]).toEqual([4, 4]);
  });

  test("an fsync in flight when power is lost is lost", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    await fs.syncDir("/db");
    h.append(bytes(64, 1));
    const syncing = h.sync();
    fs.crash(0);
    await expect(syncing).rejects.toBeInstanceOf(CrashedError);
    // The dead FS still answers crashImage: had the fsync committed, every image would hold all 64 bytes.
    expect(SEEDS.some((seed) => fs.crashImage(seed).readFile("/db/f").length < 64)).toBe(true);
  });

  test("a crash releases every lock; lock files may remain and do not block", async () => {
    const fs = await freshDb();
    fs.lock("/db/LOCK");
    await fs.syncDir("/db");
    expect(() => fs.lock("/db/LOCK")).toThrow(LockedError);
    const survivor = fs.crash(3);
    expect(survivor.stat("/db/LOCK")).toBeDefined();
    survivor.lock("/db/LOCK").release();
    expect(survivor.stat("/db/LOCK")).toBeUndefined();
  });
});

/** A small workload: returns after the last step; every FS call it makes is counted. */
async function workload(fs: MemFileSystem): Promise<void> {
  fs.mkdir("/db");
  await fs.syncDir("/");
  const h = fs.open("/db/wal", { create: true });
  h.append(bytes(3, 1));
  await h.sync();
  await fs.syncDir("/db");
  h.append(bytes(3, 2));
  await h.sync();
  h.close();
  fs.rename("/db/wal", "/db/wal.old");
  await fs.syncDir("/db");
  fs.readFile("/db/wal.old");
}

describe("MemFileSystem armCrash", () => {
  test("callCount counts every call including reads; a helper does not count", async () => {
    const fs = new MemFileSystem();
    await workload(fs);
    expect(fs.callCount).toBe(12);
    fs.snapshotFiles();
    fs.clone();
    fs.crashImage(1);
    expect(fs.callCount).toBe(12);
  });

  test("armCrash(k) fails exactly the k-th call, for every k of the workload", async () => {
    const total = 12;
    for (let k = 1; k <= total; k++) {
      const fs = new MemFileSystem();
      fs.armCrash(k, k);
      await expect(workload(fs)).rejects.toBeInstanceOf(CrashedError);
      expect(fs.callCount).toBe(k);
      expect(fs.isCrashed).toBe(true);
      const survivor = fs.lastCrash();
      expect(survivor).toBeInstanceOf(MemFileSystem);
      const files = survivor!.snapshotFiles();
      // Once the first sync and both syncDirs completed (call 6), the first 3 bytes are durable under some name.
      if (k > 6) {
        const wal = files.get("/db/wal") ?? files.get("/db/wal.old");
        expect(wal !== undefined && isPrefix(bytes(3, 1), wal)).toBe(true);
      }
      // After the final syncDir (call 11) the rename is durable and the second sync's bytes are there.
      if (k > 11) expect([...files.get("/db/wal.old")!]).toEqual([1, 1, 1, 2, 2, 2]);
    }
    const fs = new MemFileSystem();
    fs.armCrash(total + 1);
    await workload(fs);
    expect(fs.isCrashed).toBe(false);
  });

  test("the crashing call has no effect", () => {
    const fs = new MemFileSystem();
    fs.armCrash(1);
    expect(() => fs.mkdir("/x")).toThrow(CrashedError);
    expect(fs.lastCrash()!.stat("/x")).toBeUndefined();
  });

  test("armCrash rejects a count below 1; disarm cancels", () => {
    const fs = new MemFileSystem();
    expect(() => fs.armCrash(0)).toThrow(InvalidArgumentError);
    fs.armCrash(1);
    fs.disarm();
    fs.mkdir("/x");
    expect(fs.isCrashed).toBe(false);
  });
});

describe("MemFileSystem helpers", () => {
  test("clone is independent and carries the pending (unsynced) state", async () => {
    const fs = await freshDb();
    fs.open("/db/f", { create: true }).append(bytes(2, 1));
    const copy = fs.clone();
    copy.open("/db/f").append(bytes(1, 9));
    expect(fs.readFile("/db/f").length).toBe(2);
    expect(copy.readFile("/db/f").length).toBe(3);
    const vanished = SEEDS.some((seed) => copy.crashImage(seed).stat("/db/f") === undefined);
    expect(vanished).toBe(true);
  });

  test("snapshotFiles lists every file by absolute path in order, with copies of the contents", () => {
    const fs = new MemFileSystem();
    fs.mkdir("b/c", { recursive: true });
    fs.open("b/c/z", { create: true }).append(bytes(1, 1));
    fs.open("/a", { create: true }).append(bytes(1, 2));
    fs.open("b/y", { create: true }).close();
    const snap = fs.snapshotFiles();
    expect([...snap.keys()]).toEqual(["/a", "/b/c/z", "/b/y"]);
    snap.get("/a")![0] = 77;
    expect([...fs.readFile("/a")]).toEqual([2]);
  });

  test("flipBit rots the durable and the visible bytes", async () => {
    const fs = await freshDb();
    const h = fs.open("/db/f", { create: true });
    h.append(new Uint8Array([0, 0, 0]));
    await h.sync();
    await fs.syncDir("/db");
    fs.flipBit("/db/f", 1, 3);
    expect([...fs.readFile("/db/f")]).toEqual([0, 8, 0]);
    expect([...fs.crashImage(4).readFile("/db/f")]).toEqual([0, 8, 0]);
    expect(() => fs.flipBit("/db/f", 3, 0)).toThrow(InvalidArgumentError);
    expect(() => fs.flipBit("/db/f", 0, 8)).toThrow(InvalidArgumentError);
  });

  test("paths: '.', '..' and repeated slashes name the same file", () => {
    const fs = new MemFileSystem();
    fs.mkdir("/x/y", { recursive: true });
    fs.open("/x/./y//f", { create: true }).append(bytes(1, 1));
    expect(fs.readFile("x/y/../y/f").length).toBe(1);
    expect(fs.list(".")).toEqual(["x"]);
  });
});
