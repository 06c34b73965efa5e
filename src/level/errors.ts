/**
 * Error mapping of the abstract-level adapter. The Level ecosystem branches
 * on `err.code` with `LEVEL_*` codes (abstract-level README, "Errors"); the
 * engine throws typed OuroborosErrors with `ERR_*` codes. A mapped error is a
 * `LevelError` that carries the Level code and keeps the engine's typed error
 * as `cause`, so both `err.code === "LEVEL_CORRUPTION"` and
 * `err.cause instanceof CorruptionError` work.
 */
import {
  ClosedError,
  CorruptionError,
  CrashedError,
  IOError,
  LockedError,
  NotFoundError,
  OuroborosError,
  ReadOnlyError,
} from "../index.ts";

/** An engine failure seen through the Level API: `code` is a `LEVEL_*` code, `cause` the engine's error. */
export class LevelError extends OuroborosError {
  constructor(code: string, message: string, cause?: unknown) { // A
    super(code, message, cause === undefined ? undefined : { cause });
  }
}

/** What was being used when a ClosedError came up (decides between the `*_NOT_OPEN` codes). */
export type ClosedContext = "database" | "iterator";

/**
 * Maps an engine error to the Level code the ecosystem expects. Errors that
 * are not ours (or have no Level equivalent, such as InvalidArgumentError)
 * pass through unchanged: they already carry a stable `code`.
 */
export function toLevelError(e: unknown, context: ClosedContext = "database"): unknown { // A
  if (!(e instanceof OuroborosError) || e instanceof LevelError) return e;
  const code = levelCode(e, context);
  return code === undefined ? e : new LevelError(code, e.message, e);
}

function levelCode(e: OuroborosError, context: ClosedContext): string | undefined { // A
  if (e instanceof CorruptionError) return "LEVEL_CORRUPTION";
  if (e instanceof IOError || e instanceof CrashedError) return "LEVEL_IO_ERROR";
  if (e instanceof LockedError) return "LEVEL_LOCKED";
  if (e instanceof ReadOnlyError) return "LEVEL_READONLY";
  if (e instanceof ClosedError) {
    if (e.message.startsWith("snapshot")) return "LEVEL_SNAPSHOT_NOT_OPEN";
    return context === "iterator" ? "LEVEL_ITERATOR_NOT_OPEN" : "LEVEL_DATABASE_NOT_OPEN";
  }
  return undefined;
}

/**
 * The error for a database directory that is missing while createIfMissing
 * is off. abstract-level wraps it as the `cause` of its LEVEL_DATABASE_NOT_OPEN
 * and Level users (and the shared suite) look for "does not exist" in it.
 */
export function missingDatabaseError(location: string, cause: unknown): LevelError { // A
  return new LevelError(
    "LEVEL_NOT_FOUND",
    `database ${location} does not exist and createIfMissing is false; create it or open with createIfMissing: true`,
    cause,
  );
}

/** Whether `e` is the engine's "no database here" failure at open. */
export function isMissingDatabase(e: unknown): boolean { // A
  return e instanceof NotFoundError;
}
