/**
 * Handing the event loop back between slices of background work (flush,
 * compaction), so timers, I/O callbacks and the application's own work run
 * in between. A macrotask (setImmediate from node:timers, which Node, Bun
 * and Deno all provide) rather than a microtask: a microtask would run
 * before any I/O callback and starve them. Costs ~1-5 us per call.
 */
import { setImmediate } from "node:timers";

/** Resolves after pending I/O callbacks and timers had their turn. */
export function yieldToEventLoop(): Promise<void> { // A
  return new Promise((resolve) => setImmediate(resolve));
}
