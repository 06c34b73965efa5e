/**
 * `ouroboros-db/level`: the OuroborosDB engine as an abstract-level database,
 * a drop-in for classic-level in the Level ecosystem. See SPEC.md, "Level adapter".
 */
export { OuroborosLevel } from "./ouroboros-level.ts";
export type { OuroborosLevelOptions } from "./ouroboros-level.ts";
export { OuroborosSnapshot } from "./snapshot.ts";
export { LevelError } from "./errors.ts";
