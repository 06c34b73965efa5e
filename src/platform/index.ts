/**
 * The platform layer's public face: the only door to files, time and
 * randomness. Everything above receives these as parameters, so a test or
 * the simulator can hand in the memory FS, a virtual clock and a seed.
 */
export * from "./fs.ts";
export * from "./node-fs.ts";
export * from "./mem-fs.ts";
export * from "./fault-fs.ts";
export * from "./clock.ts";
export * from "./random.ts";
export * from "./yield.ts";
