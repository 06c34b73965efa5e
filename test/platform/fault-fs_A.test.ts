import { describe, expect, test } from "vitest";
import { InvalidArgumentError, IOError } from "../../src/errors.ts";
import { FaultFileSystem } from "../../src/platform/fault-fs.ts";
import { MemFileSystem } from "../../src/platform/mem-fs.ts";
import { fsContract } from "./fs-contract_A.ts";

fsContract("FaultFileSystem without rules", () => {
  const inner = new MemFileSystem();
  inner.mkdir("/db");
  return { fs: new FaultFileSystem(inner), root: "/db", cleanup: () => {} };
});

const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i + 1);

function setup(seed = 0): { inner: MemFileSystem; fs: FaultFileSystem } {
  const inner = new MemFileSystem();
  inner.mkdir("/db");
  return { inner, fs: new FaultFileSystem(inner, { seed }) };
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("FaultFileSystem", () => {
  test("nth: only the nth matching call fails, with EIO by default, then calls succeed again", () => {
    const { fs, inner } = setup();
    const h = fs.open("/db/wal", { create: true });
    const fault = fs.inject({ op: "append", nth: 3 });
    h.append(data(1));
    h.append(data(1));
    const err = caught(() => h.append(data(1)));
    expect(err).toBeInstanceOf(IOError);
    expect((err as IOError).errno).toBe("EIO");
    expect((err as IOError).op).toBe("append");
    expect((err as IOError).path).toBe("/db/wal");
    h.append(data(1));
    expect(inner.readFile("/db/wal").length).toBe(3);
    expect(fs.calls("append")).toBe(4);
    expect(fs.faultsFired("append")).toBe(1);
    expect(fs.faultsFired()).toBe(1);
    expect(fault.fired).toBe(1);
    expect(fault.matched).toBe(4);
  });

  test("every: fails each matching call from the nth on; clear() stops it", () => {
    const { fs } = setup();
    fs.inject({ op: "mkdir", nth: 2, every: true, error: "EROFS" });
    fs.mkdir("/db/a");
    expect(() => fs.mkdir("/db/b")).toThrow(IOError);
    expect(() => fs.mkdir("/db/c")).toThrow(IOError);
    fs.clear();
    fs.mkdir("/db/d");
    expect(fs.list("/db")).toEqual(["a", "d"]);
    expect(fs.faultsFired("mkdir")).toBe(2);
  });

  test("ENOSPC only on paths that match; rename matches either side", () => {
    const { fs } = setup();
    fs.inject({ op: "open", pathIncludes: ".sst", error: "ENOSPC", every: true });
    fs.open("/db/000001.log", { create: true }).close();
    const err = caught(() => fs.open("/db/000002.sst", { create: true }));
    expect((err as IOError).errno).toBe("ENOSPC");
    expect(fs.stat("/db/000002.sst")).toBeUndefined();
    fs.inject({ op: "rename", pathIncludes: "CURRENT" });
    expect(() => fs.rename("/db/000001.log", "/db/CURRENT")).toThrow(IOError);
    expect(fs.stat("/db/000001.log")).toBeDefined();
  });

  test("two rules due on one call: the older fires, the newer stays due for the next call", () => {
    const { fs } = setup();
    const first = fs.inject({ op: "stat", error: "EIO" });
    const second = fs.inject({ op: "stat", error: "EACCES" });
    expect((caught(() => fs.stat("/db")) as IOError).errno).toBe("EIO");
    expect((caught(() => fs.stat("/db")) as IOError).errno).toBe("EACCES");
    expect(fs.stat("/db")?.isDirectory).toBe(true);
    expect([first.fired, second.fired]).toEqual([1, 1]);
  });

  test("a short write leaves exactly the given prefix in the inner file, then throws", () => {
    const { fs, inner } = setup();
    const h = fs.open("/db/f", { create: true });
    h.append(data(4));
    fs.inject({ op: "append", shortWrite: 3, error: "ENOSPC" });
    const err = caught(() => h.append(Uint8Array.of(9, 8, 7, 6, 5)));
    expect((err as IOError).errno).toBe("ENOSPC");
    expect([...inner.readFile("/db/f")]).toEqual([1, 2, 3, 4, 9, 8, 7]);
    fs.inject({ op: "write", shortWrite: true });
    expect(() => h.write(new Uint8Array(5).fill(0xaa), 0)).toThrow(IOError);
    const got = inner.readFile("/db/f");
    expect(got.length).toBe(7);
    // A random strict prefix (0..4 bytes) of the 0xaa run overwrote the start; the rest is the old bytes.
    const k = got.findIndex((b) => b !== 0xaa);
    expect(k).toBeGreaterThanOrEqual(0);
    expect(k).toBeLessThan(5);
    expect([...got.subarray(k)]).toEqual([...Uint8Array.of(1, 2, 3, 4, 9, 8, 7).subarray(k)]);
  });

  test("a bit flip on read changes exactly one bit of the returned bytes and none on disk", () => {
    const { fs, inner } = setup();
    const h = fs.open("/db/f", { create: true });
    h.append(data(32));
    fs.inject({ op: "read", bitFlip: true });
    const into = new Uint8Array(32);
    expect(h.read(into, 0)).toBe(32);
    let bitsDiffering = 0;
    into.forEach((b, i) => {
      let x = b ^ (i + 1);
      for (; x !== 0; x &= x - 1) bitsDiffering++;
    });
    expect(bitsDiffering).toBe(1);
    expect([...inner.readFile("/db/f")]).toEqual([...data(32)]);
    const clean = new Uint8Array(32);
    h.read(clean, 0);
    expect([...clean]).toEqual([...data(32)]);
    fs.inject({ op: "readFile", bitFlip: true });
    expect([...fs.readFile("/db/f")]).not.toEqual([...data(32)]);
  });

  test("a failed fsync never reaches the inner FS", async () => {
    const { fs, inner } = setup();
    const h = fs.open("/db/f", { create: true });
    h.append(data(8));
    fs.inject({ op: "sync" });
    fs.inject({ op: "syncDir" });
    const before = inner.callCount;
    await expect(h.sync()).rejects.toBeInstanceOf(IOError);
    await expect(fs.syncDir("/db")).rejects.toBeInstanceOf(IOError);
    expect(inner.callCount).toBe(before);
    await h.sync();
    expect(inner.callCount).toBe(before + 1);
  });

  test("a failed close still closes the inner handle", () => {
    const { fs } = setup();
    const h = fs.open("/db/f", { create: true });
    fs.inject({ op: "close" });
    expect(() => h.close()).toThrow(IOError);
    expect(() => h.size()).toThrow();
  });

  test("the same seed replays the same random choices", () => {
    const outcome = (seed: number): number[] => {
      const { fs, inner } = setup(seed);
      const h = fs.open("/db/f", { create: true });
      fs.inject({ op: "append", shortWrite: true, every: true });
      for (let i = 0; i < 5; i++) caught(() => h.append(data(200)));
      return [inner.readFile("/db/f").length];
    };
    expect(outcome(42)).toEqual(outcome(42));
    const spread = new Set([1, 2, 3, 4, 5, 6, 7, 8].map((s) => outcome(s)[0]));
    expect(spread.size).toBeGreaterThan(1);
  });

  test("inject rejects nth below 1", () => {
    const { fs } = setup();
    expect(() => fs.inject({ op: "read", nth: 0 })).toThrow(InvalidArgumentError);
  });
});
