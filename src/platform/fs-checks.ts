/**
 * Argument checks shared by every FileSystem implementation, so node:fs, the
 * memory FS and the fault wrapper reject the same bad calls with the same
 * typed error. A negative or fractional position is rejected on purpose:
 * node:fs reads `-1` as "the current file position", which would silently
 * turn a positional call into a streaming one.
 */
import { InvalidArgumentError } from "../errors.ts";
import type { OpenOptions } from "./fs.ts";

/** Throws unless `value` is a non-negative safe integer (file offsets and sizes). */
export function checkOffset(op: string, path: string, name: string, value: number): void { // A
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${op} on ${path}: ${name} must be a non-negative integer, got ${String(value)}`);
  }
}

/** A read-only handle that creates or truncates is a contradiction; reject it before touching the disk. */
export function checkOpenOptions(path: string, options: OpenOptions): void { // A
  if (options.readOnly === true && (options.create === true || options.exclusive === true || options.truncate === true)) {
    throw new InvalidArgumentError(`open ${path}: readOnly cannot be combined with create, exclusive or truncate`);
  }
}

/** Thrown as the message of a call on a closed handle. */
export function closedHandleWhat(path: string): string { // A
  return `file handle for ${path}`;
}
