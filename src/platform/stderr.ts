/**
 * The standard-error stream, the one place the cluster log's default sink
 * reaches the process. node:process exists on Node, Bun and Deno alike.
 */
import process from "node:process";

/**
 * Writes one line to stderr. Never throws: a closed or broken stderr (EPIPE)
 * must not turn a log call into a crash, so a failed write is dropped.
 */
export function writeStderrLine(line: string): void { // A
  try {
    process.stderr.write(line.endsWith("\n") ? line : `${line}\n`);
  } catch {
    // Nowhere left to report it: stderr itself is the last resort.
  }
}
