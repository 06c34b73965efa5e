/**
 * The typed errors of OuroborosDB. Every failure a user can meet is one of
 * these classes, each with a stable `code`, so callers can branch on
 * `instanceof` or on `err.code` and never parse a message.
 * Messages name the file, key or peer involved and say what the user can do.
 */

/** Base class of every error this library throws on purpose. */
export class OuroborosError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) { // A
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** Bytes on disk or on the wire failed a checksum or a structural check. */
export class CorruptionError extends OuroborosError {
  readonly file: string | undefined;
  readonly offset: number | undefined;
  constructor(message: string, where: { file?: string; offset?: number } = {}, options?: { cause?: unknown }) { // A
    const place = where.file === undefined ? "" : ` (file ${where.file}${where.offset === undefined ? "" : ` at offset ${where.offset}`})`;
    super("ERR_CORRUPTION", `${message}${place}`, options);
    this.file = where.file;
    this.offset = where.offset;
  }
}

/** Another process (or another open handle in this process) holds the database. */
export class LockedError extends OuroborosError {
  readonly path: string;
  constructor(path: string, holder?: string) { // A
    super(
      "ERR_LOCKED",
      `database at ${path} is locked by ${holder ?? "another handle"}; close the other handle or process first`,
    );
    this.path = path;
  }
}

/** The database (or iterator, or snapshot) was closed or released. */
export class ClosedError extends OuroborosError {
  constructor(what = "database") { // A
    super("ERR_CLOSED", `${what} is closed; open it again to continue`);
  }
}

/** A caller passed a value of the wrong type, size or range. Nothing was changed. */
export class InvalidArgumentError extends OuroborosError {
  constructor(message: string) { // A
    super("ERR_INVALID_ARGUMENT", message);
  }
}

/** A file or directory that must exist does not. */
export class NotFoundError extends OuroborosError {
  readonly path: string;
  constructor(path: string, message?: string) { // A
    super("ERR_NOT_FOUND", message ?? `${path} does not exist`);
    this.path = path;
  }
}

/** A write was attempted on a database opened read-only. */
export class ReadOnlyError extends OuroborosError {
  constructor(path: string) { // A
    super("ERR_READ_ONLY", `database at ${path} was opened read-only; reopen it without readOnly to write`);
  }
}

/** A budget (memory, file size, queue length) would be exceeded. */
export class BudgetExceededError extends OuroborosError {
  constructor(message: string) { // A
    super("ERR_BUDGET_EXCEEDED", message);
  }
}

/** A peer failed authentication (replication). */
export class AuthError extends OuroborosError {
  constructor(message: string) { // A
    super("ERR_AUTH", message);
  }
}

/**
 * A timestamp received from elsewhere (a peer, a replicated record) lies more
 * than the allowed drift ahead of the local clock. It was rejected and the
 * local hybrid logical clock was left unchanged, so one bad clock cannot drag
 * every later timestamp into the future.
 */
export class ClockDriftError extends OuroborosError {
  readonly remoteMs: number;
  readonly localMs: number;
  readonly maxDriftMs: number;
  constructor(remoteMs: number, localMs: number, maxDriftMs: number, from?: string) { // A
    super(
      "ERR_CLOCK_DRIFT",
      `timestamp ${remoteMs} ms${from === undefined ? "" : ` from ${from}`} is ${remoteMs - localMs} ms ahead of the local clock ` +
        `(${localMs} ms; at most ${maxDriftMs} ms allowed); check the clocks (NTP) of both machines`,
    );
    this.remoteMs = remoteMs;
    this.localMs = localMs;
    this.maxDriftMs = maxDriftMs;
  }
}

/**
 * An operating-system I/O call failed. `errno` is the system code when known
 * ("EIO", "ENOSPC", ...); `cause` keeps the original error.
 */
export class IOError extends OuroborosError {
  readonly errno: string | undefined;
  readonly op: string;
  readonly path: string | undefined;
  constructor(op: string, path: string | undefined, errno: string | undefined, options?: { cause?: unknown; detail?: string }) { // A
    const detail = options?.detail === undefined ? "" : `: ${options.detail}`;
    super("ERR_IO", `${op} failed${path === undefined ? "" : ` on ${path}`}${errno === undefined ? "" : ` (${errno})`}${detail}`, options);
    this.errno = errno;
    this.op = op;
    this.path = path;
  }
}

/** Thrown by the crashable file system once its simulated machine has lost power. */
export class CrashedError extends OuroborosError {
  constructor() { // A
    super("ERR_CRASHED", "the simulated machine crashed; every call after the crash point fails");
  }
}

/** An internal invariant did not hold: a bug in OuroborosDB, never the user's fault. */
export class AssertionFailedError extends OuroborosError {
  constructor(message: string) { // A
    super("ERR_ASSERTION", `internal invariant violated: ${message}`);
  }
}

/** Checks an invariant; a failure is our bug and stops the operation before it corrupts data. */
export function assert(condition: unknown, why: string): asserts condition { // A
  if (!condition) throw new AssertionFailedError(why);
}
