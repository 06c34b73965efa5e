/**
 * Translates the errors node:fs throws (on Node, Bun and Deno alike: objects
 * with a string `code`) into our typed errors, so nothing above the platform
 * layer ever sees a runtime-specific error shape.
 */
import { IOError, NotFoundError, OuroborosError } from "../errors.ts";

/** The system error code ("ENOENT", "EIO", ...) of a thrown value, if it has one. */
export function errnoOf(err: unknown): string | undefined { // A
  if (typeof err !== "object" || err === null) return undefined;
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** ENOENT becomes NotFoundError; every other failure an IOError that keeps the original as `cause`. */
export function mapNodeError(op: string, path: string, err: unknown): Error { // A
  if (err instanceof OuroborosError) return err;
  const errno = errnoOf(err);
  if (errno === "ENOENT") return new NotFoundError(path, `${op}: ${path} does not exist`);
  return new IOError(op, path, errno, { cause: err });
}
