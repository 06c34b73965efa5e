/**
 * The exclusive database lock of NodeFileSystem: at most one holder across
 * processes and within this process.
 *
 * Within the process a registry of held lock paths (resolved, absolute)
 * answers at once. Across processes the lock is a file created with O_EXCL
 * holding JSON {pid, hostname, token, startedAtMs}. A lock file whose process
 * is gone is stale (the holder crashed) and is broken under a second O_EXCL
 * file, `<lock>.break`, so that two processes breaking the same stale lock
 * can never delete each other's fresh one: whoever holds the breaker re-reads
 * the lock, removes it only if it is byte-for-byte the stale one it judged,
 * and O_EXCL creation stays the only way to win.
 *
 * Limits, on purpose: a lock naming another host is never judged stale (we
 * cannot see its processes); a lock naming our own pid but an earlier process
 * start is stale (pid reuse after a container restart, where every run is
 * pid 1). The registry lives on globalThis under a Symbol.for key, so two
 * copies of this module in one isolate share it; worker threads do not, and
 * are told apart from an earlier incarnation by the process start time.
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import { hostname } from "node:os";
import { resolve } from "node:path";
import { IOError, LockedError } from "../errors.ts";
import type { FileLock } from "./fs.ts";
import { errnoOf, mapNodeError } from "./node-error.ts";

interface LockRecord {
  pid: number;
  hostname?: string;
  token: string;
  startedAtMs?: number;
}

interface SeenLock {
  /** The exact bytes read, compared again before a stale lock is removed. */
  raw: string;
  /** Undefined when the content does not parse (a holder died while writing it, or a stranger's file). */
  record: LockRecord | undefined;
  ageMs: number;
}

type Verdict = { stale: true } | { stale: false; holder: string };

/** A lock file that never got its content is left by a crash, once it is this old. */
const UNREADABLE_STALE_MS = 5_000;
/** A breaker file whose process died is abandoned, once it is this old. */
const BREAKER_STALE_MS = 5_000;
/** Two start-time estimates of one process differ by clock jitter only. */
const SAME_START_TOLERANCE_MS = 2_000;
/** Rounds of create / judge / break before giving up: each round needs another process to re-create the lock. */
const ACQUIRE_ROUNDS_MAX = 4;

const HELD_KEY = Symbol.for("ouroboros-db.platform.node-lock.held");

function heldLocks(): Set<string> { // A
  const g = globalThis as unknown as Record<symbol, Set<string> | undefined>;
  let held = g[HELD_KEY];
  if (held === undefined) {
    held = new Set();
    g[HELD_KEY] = held;
  }
  return held;
}

/** Wall-clock estimate of when this process started (stable within a process up to clock jitter). */
function processStartMs(): number { // A
  return Math.round(Date.now() - process.uptime() * 1000);
}

function pidAlive(pid: number): boolean { // A
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else. Anything but ESRCH counts as alive: a false "dead" would break a live lock.
    return errnoOf(err) !== "ESRCH";
  }
}

/** Decodes a lock file; anything not exactly our shape yields undefined (never a guessed pid). */
export function parseLockRecord(raw: string): LockRecord | undefined { // PA
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const v = value as Record<string, unknown>;
  // pid <= 0 must never reach process.kill: 0 and negatives address process groups.
  if (typeof v.pid !== "number" || !Number.isSafeInteger(v.pid) || v.pid <= 0) return undefined;
  if (typeof v.token !== "string" || v.token.length === 0) return undefined;
  const record: LockRecord = { pid: v.pid, token: v.token };
  if (typeof v.hostname === "string") record.hostname = v.hostname;
  if (typeof v.startedAtMs === "number") record.startedAtMs = v.startedAtMs;
  return record;
}

function readLock(path: string): SeenLock | undefined { // A
  try {
    const raw = fs.readFileSync(path, "utf8");
    const ageMs = Date.now() - fs.statSync(path).mtimeMs;
    return { raw, record: parseLockRecord(raw), ageMs };
  } catch (err) {
    if (errnoOf(err) === "ENOENT") return undefined;
    throw mapNodeError("lock", path, err);
  }
}

/** Creates `path` only if absent (O_EXCL) and writes `content`; false if it already exists. */
function createExclusive(path: string, content: string): boolean { // PA
  let fd: number;
  try {
    fd = fs.openSync(path, "wx");
  } catch (err) {
    if (errnoOf(err) === "EEXIST") return false;
    throw mapNodeError("lock", path, err);
  }
  try {
    fs.writeFileSync(fd, content); // loops over short writes itself
    fs.closeSync(fd);
    return true;
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // Already failing; the write error below is the one to report.
    }
    removeIfPresent(path);
    throw mapNodeError("lock", path, err);
  }
}

function removeIfPresent(path: string): void { // A
  try {
    fs.unlinkSync(path);
  } catch (err) {
    if (errnoOf(err) !== "ENOENT") throw mapNodeError("lock", path, err);
  }
}

function judge(seen: SeenLock): Verdict { // PA
  const r = seen.record;
  if (r === undefined) {
    if (seen.ageMs > UNREADABLE_STALE_MS) return { stale: true };
    return { stale: false, holder: "a process that is still writing the lock file" };
  }
  if (r.hostname !== undefined && r.hostname !== hostname()) {
    return { stale: false, holder: `process ${r.pid} on host ${r.hostname} (remove the lock file by hand if that host is gone)` };
  }
  if (r.pid === process.pid) {
    const sameRun = r.startedAtMs !== undefined && Math.abs(r.startedAtMs - processStartMs()) <= SAME_START_TOLERANCE_MS;
    return sameRun ? { stale: false, holder: "this process (another worker or module instance)" } : { stale: true };
  }
  return pidAlive(r.pid) ? { stale: false, holder: `process ${r.pid}` } : { stale: true };
}

/** Takes the breaker, clearing one abandoned by a dead breaker; false if a live process is breaking. */
function takeBreaker(breaker: string, content: string): boolean { // PA
  if (createExclusive(breaker, content)) return true;
  const seen = readLock(breaker);
  if (seen === undefined) return createExclusive(breaker, content);
  const abandoned = seen.ageMs > BREAKER_STALE_MS && (seen.record === undefined || !pidAlive(seen.record.pid));
  if (!abandoned) return false;
  removeIfPresent(breaker);
  return createExclusive(breaker, content);
}

/** Removes the stale lock `seen` if it is still exactly that file; the caller then races for it with O_EXCL. */
function breakStale(path: string, seen: SeenLock, mine: LockRecord): void { // PA
  const breaker = `${path}.break`;
  if (!takeBreaker(breaker, JSON.stringify({ pid: mine.pid, token: mine.token }))) {
    throw new LockedError(path, "another process that is breaking a stale lock");
  }
  try {
    const again = readLock(path);
    if (again !== undefined && again.raw === seen.raw) removeIfPresent(path);
  } finally {
    removeIfPresent(breaker);
  }
}

function acquireFile(path: string, mine: LockRecord): void { // PA
  const content = JSON.stringify(mine);
  for (let round = 0; round < ACQUIRE_ROUNDS_MAX; round++) {
    if (createExclusive(path, content)) return;
    const seen = readLock(path);
    if (seen === undefined) continue; // released between our create and our read
    const verdict = judge(seen);
    if (!verdict.stale) throw new LockedError(path, verdict.holder);
    breakStale(path, seen, mine);
  }
  throw new LockedError(path, `processes that re-created the lock file ${ACQUIRE_ROUNDS_MAX} times in a row`);
}

class NodeFileLock implements FileLock {
  readonly path: string;
  private readonly absPath: string;
  private readonly token: string;
  private released = false;

  constructor(path: string, absPath: string, token: string) { // A
    this.path = path;
    this.absPath = absPath;
    this.token = token;
  }

  release(): void { // PA
    if (this.released) return;
    this.released = true;
    heldLocks().delete(this.absPath);
    const seen = readLock(this.absPath);
    // Only our own file is removed: had someone broken and re-taken it, deleting theirs would admit a third holder.
    if (seen?.record?.token === this.token) {
      try {
        fs.unlinkSync(this.absPath);
      } catch (err) {
        if (errnoOf(err) !== "ENOENT") throw new IOError("unlock", this.path, errnoOf(err), { cause: err });
      }
    }
  }
}

/** Takes the lock named by `path` or throws LockedError naming the holder. */
export function takeNodeLock(path: string): FileLock { // PA
  const absPath = resolve(path);
  const held = heldLocks();
  if (held.has(absPath)) throw new LockedError(path, "another handle in this process");
  const mine: LockRecord = { pid: process.pid, hostname: hostname(), token: randomUUID(), startedAtMs: processStartMs() };
  acquireFile(path, mine);
  held.add(absPath);
  return new NodeFileLock(path, absPath, mine.token);
}
