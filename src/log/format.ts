/**
 * Renders a cluster-log record as one line of text for humans and grep:
 * `2023-11-14T22:13:20.000Z WARN  node-1 engine.wal event {"key":"value"}`.
 * Fields become JSON; values JSON cannot carry (bigint, Error, Uint8Array,
 * cycles, functions) are rendered so that the line never throws.
 */
import type { LogRecord } from "./clusterlog.ts";

/** Longest rendered fields part; longer output is cut so one record stays one bounded line. */
export const LOG_FIELDS_CHARS_MAX = 4096;
const BYTES_SHOWN_MAX = 32;

/** ISO-8601 UTC time of `timeMs`, or the raw number when it is not a valid time. */
export function formatLogTime(timeMs: number): string { // A
  if (!Number.isFinite(timeMs) || Math.abs(timeMs) > 8.64e15) return String(timeMs);
  return new Date(timeMs).toISOString();
}

/** One line (no trailing newline) describing `record`. */
export function formatLogLine(record: LogRecord): string { // A
  const level = record.level.toUpperCase().padEnd(5);
  const node = record.node === undefined ? "" : ` ${record.node}`;
  const component = record.component === "" ? "" : ` ${record.component}`;
  const fields = Object.keys(record.fields).length === 0 ? "" : ` ${formatLogFields(record.fields)}`;
  return `${formatLogTime(record.timeMs)} ${level}${node}${component} ${record.event}${fields}`;
}

/** JSON of the fields, made safe for any value and cut at LOG_FIELDS_CHARS_MAX. */
export function formatLogFields(fields: Readonly<Record<string, unknown>>): string { // A
  let text: string;
  try {
    const seen = new WeakSet<object>();
    text = JSON.stringify(fields, (_key, value: unknown) => jsonSafe(value, seen)) ?? "{}";
  } catch (err) {
    text = `{"unrenderable":${JSON.stringify(String(err))}}`;
  }
  if (text.length > LOG_FIELDS_CHARS_MAX) text = `${text.slice(0, LOG_FIELDS_CHARS_MAX)}...(${text.length} chars)`;
  return text.replace(/[\r\n]/g, " ");
}

function jsonSafe(value: unknown, seen: WeakSet<object>): unknown { // A
  if (typeof value === "bigint") return `${value}n`;
  if (typeof value === "function" || typeof value === "symbol") return `[${typeof value}]`;
  if (value === undefined) return undefined;
  if (value instanceof Error) return errorSummary(value);
  if (value instanceof Uint8Array) return bytesSummary(value);
  if (typeof value === "object" && value !== null) {
    if (seen.has(value)) return "[repeated]"; // a cycle, or an object met twice
    seen.add(value);
  }
  return value;
}

function errorSummary(err: Error): Record<string, unknown> { // A
  const code = (err as { code?: unknown }).code;
  return code === undefined ? { name: err.name, message: err.message } : { name: err.name, code, message: err.message };
}

function bytesSummary(b: Uint8Array): string { // A
  let hex = "";
  const n = Math.min(b.length, BYTES_SHOWN_MAX);
  for (let i = 0; i < n; i++) hex += (b[i]! < 16 ? "0" : "") + b[i]!.toString(16);
  return b.length > n ? `0x${hex}...(${b.length} bytes)` : `0x${hex}`;
}
