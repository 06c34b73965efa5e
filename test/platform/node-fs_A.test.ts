import { spawn } from "node:child_process";
import * as nfs from "node:fs";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { LockedError } from "../../src/errors.ts";
import { NodeFileSystem, nodeFileSystem } from "../../src/platform/node-fs.ts";
import { parseLockRecord } from "../../src/platform/node-lock.ts";
import { fsContract } from "./fs-contract_A.ts";

const isDeno = typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
const isBun = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined";

function tempDir(): string {
  return nfs.mkdtempSync(join(tmpdir(), "ouro-nodefs-"));
}

fsContract("NodeFileSystem", () => {
  const root = tempDir();
  return { fs: new NodeFileSystem(), root, cleanup: () => nfs.rmSync(root, { recursive: true, force: true }) };
});

/** Arguments that make the current runtime evaluate `code` (Deno spells -e as `eval`). */
function evalArgs(code: string): string[] {
  return isDeno ? ["eval", code] : ["-e", code];
}

const exits = new WeakMap<ReturnType<typeof spawn>, Promise<number | null>>();

/** Spawns and starts listening for the exit at once (Deno sets signalCode at kill(), before the exit). */
function run(cmd: string, args: string[], options: Parameters<typeof spawn>[2]): ReturnType<typeof spawn> {
  const child = spawn(cmd, args, options);
  exits.set(child, new Promise((resolve, reject) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", reject);
  }));
  return child;
}

function waitExit(child: ReturnType<typeof spawn>): Promise<number | null> {
  return exits.get(child)!;
}

/** The pid of a process that has exited and been reaped: a dead holder. */
async function deadPid(): Promise<number> {
  const child = run(process.execPath, evalArgs("0"), { stdio: "ignore" });
  const pid = child.pid;
  await waitExit(child);
  expect(pid).toBeGreaterThan(0);
  return pid!;
}

function writeLock(path: string, record: Record<string, unknown>): void {
  nfs.writeFileSync(path, JSON.stringify(record));
}

describe("NodeFileSystem specifics", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => {
    nfs.rmSync(root, { recursive: true, force: true });
  });

  test("nodeFileSystem() is one shared instance", () => {
    expect(nodeFileSystem()).toBe(nodeFileSystem());
    expect(nodeFileSystem()).toBeInstanceOf(NodeFileSystem);
  });

  test("close while an fsync is in flight: the sync still completes, then the handle is closed", async () => {
    const fs = new NodeFileSystem();
    const h = fs.open(join(root, "f"), { create: true });
    h.append(new Uint8Array([1, 2, 3]));
    const pending = h.sync();
    h.close();
    await pending;
    expect(() => h.size()).toThrow();
    expect([...fs.readFile(join(root, "f"))]).toEqual([1, 2, 3]);
  });

  test("readFile returns a plain Uint8Array", () => {
    const fs = new NodeFileSystem();
    nfs.writeFileSync(join(root, "f"), "hi");
    const got = fs.readFile(join(root, "f"));
    expect(Object.getPrototypeOf(got)).toBe(Uint8Array.prototype);
    expect([...got]).toEqual([104, 105]);
  });

  test("the lock file names this process and is removed on release", () => {
    const fs = new NodeFileSystem();
    const path = join(root, "LOCK");
    const lock = fs.lock(path);
    const record = parseLockRecord(nfs.readFileSync(path, "utf8"));
    expect(record?.pid).toBe(process.pid);
    expect(record?.hostname).toBe(hostname());
    lock.release();
    expect(nfs.existsSync(path)).toBe(false);
  });

  test("the in-process registry catches a second lock through another path spelling and another instance", () => {
    const path = join(root, "LOCK");
    const lock = new NodeFileSystem().lock(path);
    const spelled = join(root, ".", "sub", "..", "LOCK");
    expect(() => new NodeFileSystem().lock(spelled)).toThrow(LockedError);
    lock.release();
  });

  test("release leaves a lock file that is no longer ours", () => {
    const fs = new NodeFileSystem();
    const path = join(root, "LOCK");
    const lock = fs.lock(path);
    writeLock(path, { pid: 1, token: "someone-else" });
    lock.release();
    expect(parseLockRecord(nfs.readFileSync(path, "utf8"))?.token).toBe("someone-else");
  });

  test("a lock file of a dead process is stale: it is broken and taken, the breaker removed", async () => {
    const path = join(root, "LOCK");
    writeLock(path, { pid: await deadPid(), hostname: hostname(), token: "dead" });
    const lock = new NodeFileSystem().lock(path);
    expect(parseLockRecord(nfs.readFileSync(path, "utf8"))?.pid).toBe(process.pid);
    expect(nfs.existsSync(`${path}.break`)).toBe(false);
    lock.release();
  });

  test("a lock file of a live process is respected and names it; once it dies the lock is taken", async () => {
    const child = run(process.execPath, evalArgs("setInterval(() => {}, 1000)"), { stdio: "ignore" });
    try {
      const path = join(root, "LOCK");
      writeLock(path, { pid: child.pid, hostname: hostname(), token: "alive" });
      expect(() => new NodeFileSystem().lock(path)).toThrow(new RegExp(`process ${child.pid}`));
      child.kill("SIGKILL");
      await waitExit(child);
      new NodeFileSystem().lock(path).release();
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("a lock naming another host is never judged stale", async () => {
    const path = join(root, "LOCK");
    writeLock(path, { pid: await deadPid(), hostname: `${hostname()}-elsewhere`, token: "far" });
    expect(() => new NodeFileSystem().lock(path)).toThrow(LockedError);
  });

  test("our own pid from an earlier process start is stale; from this start it is held", () => {
    const path = join(root, "LOCK");
    const startedAtMs = Date.now() - process.uptime() * 1000;
    writeLock(path, { pid: process.pid, hostname: hostname(), token: "t", startedAtMs });
    expect(() => new NodeFileSystem().lock(path)).toThrow(LockedError);
    writeLock(path, { pid: process.pid, hostname: hostname(), token: "t", startedAtMs: startedAtMs - 3_600_000 });
    new NodeFileSystem().lock(path).release();
  });

  test("an unreadable lock file is respected while fresh and broken once old", () => {
    const path = join(root, "LOCK");
    nfs.writeFileSync(path, "");
    expect(() => new NodeFileSystem().lock(path)).toThrow(/still writing/);
    const past = new Date(Date.now() - 60_000);
    nfs.utimesSync(path, past, past);
    new NodeFileSystem().lock(path).release();
  });

  test("a breaker held by a live process blocks; one abandoned by a dead process is cleared", async () => {
    const path = join(root, "LOCK");
    const dead = await deadPid();
    writeLock(path, { pid: dead, hostname: hostname(), token: "dead" });
    writeLock(`${path}.break`, { pid: process.pid, token: "breaking" });
    expect(() => new NodeFileSystem().lock(path)).toThrow(/breaking a stale lock/);
    writeLock(`${path}.break`, { pid: dead, token: "abandoned" });
    const past = new Date(Date.now() - 60_000);
    nfs.utimesSync(`${path}.break`, past, past);
    new NodeFileSystem().lock(path).release();
    expect(nfs.existsSync(`${path}.break`)).toBe(false);
  });

  test("parseLockRecord rejects shapes that could reach process.kill with a group id", () => {
    expect(parseLockRecord('{"pid":0,"token":"x"}')).toBeUndefined();
    expect(parseLockRecord('{"pid":-1,"token":"x"}')).toBeUndefined();
    expect(parseLockRecord('{"pid":1.5,"token":"x"}')).toBeUndefined();
    expect(parseLockRecord('{"pid":12,"token":""}')).toBeUndefined();
    expect(parseLockRecord("not json")).toBeUndefined();
    expect(parseLockRecord('{"pid":12,"token":"x"}')).toEqual({ pid: 12, token: "x" });
  });
});

/** How to run a TypeScript file in a child process on this runtime (Node 20 has no TS: use the bun devDependency). */
function tsRunner(script: string): [string, string[]] {
  if (isBun) return [process.execPath, [script]];
  if (isDeno) return [process.execPath, ["run", "-A", script]];
  const bun = fileURLToPath(new URL("../../node_modules/.bin/bun", import.meta.url));
  expect(nfs.existsSync(bun), "the bun devDependency runs the TS child under Node").toBe(true);
  return [bun, [script]];
}

const CHILD = `
import { NodeFileSystem } from ${JSON.stringify(fileURLToPath(new URL("../../src/platform/node-fs.ts", import.meta.url)))};
try {
  new NodeFileSystem().lock(process.env.OURO_LOCK_PATH);
  process.stdout.write("locked " + process.pid + "\\n");
  setInterval(() => {}, 1000);
} catch (e) {
  process.stdout.write("refused " + e.name + "\\n");
  process.exit(3);
}
`;

/** Starts a child that takes the lock with our code; resolves with its first output line. */
function startChild(root: string, lockPath: string): { child: ReturnType<typeof spawn>; line: Promise<string> } {
  const script = join(root, "child.ts");
  nfs.writeFileSync(script, CHILD);
  const [cmd, args] = tsRunner(script);
  const child = run(cmd, args, { env: { ...process.env, OURO_LOCK_PATH: lockPath }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const line = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (d: Uint8Array) => {
      out += new TextDecoder().decode(d);
      if (out.includes("\n")) resolve(out.split("\n")[0]!);
    });
    child.stderr!.on("data", (d: Uint8Array) => (err += new TextDecoder().decode(d)));
    child.once("exit", (code) => reject(new Error(`child exited (${code}) before a line: ${out} ${err}`)));
  });
  return { child, line };
}

describe("NodeFileSystem lock across real processes", () => {
  let root: string;
  beforeEach(() => {
    root = tempDir();
  });
  afterEach(() => {
    nfs.rmSync(root, { recursive: true, force: true });
  });

  test("a child holding the lock blocks us; killed with SIGKILL, its stale lock is broken", async () => {
    const lockPath = join(root, "LOCK");
    const { child, line } = startChild(root, lockPath);
    try {
      expect(await line).toBe(`locked ${child.pid}`);
      expect(() => new NodeFileSystem().lock(lockPath)).toThrow(new RegExp(`process ${child.pid}`));
      child.kill("SIGKILL");
      await waitExit(child);
      const lock = new NodeFileSystem().lock(lockPath);
      expect(parseLockRecord(nfs.readFileSync(lockPath, "utf8"))?.pid).toBe(process.pid);
      lock.release();
    } finally {
      child.kill("SIGKILL");
    }
  });

  test("while we hold the lock a child is refused with LockedError", async () => {
    const lockPath = join(root, "LOCK");
    const lock = new NodeFileSystem().lock(lockPath);
    const { child, line } = startChild(root, lockPath);
    try {
      expect(await line).toBe("refused LockedError");
      expect(await waitExit(child)).toBe(3);
    } finally {
      child.kill("SIGKILL");
      lock.release();
    }
  });
});
