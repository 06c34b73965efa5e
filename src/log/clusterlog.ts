/**
 * The cluster log: the one logging door of OuroborosDB. Every record is
 * structured (`component`, `event`, `fields`), stamped by an injected Clock
 * (so a simulated run logs the same times on every replay), kept in a bounded
 * ring of recent records, written to pluggable sinks (stderr by default, for
 * warn and error) and handed to subscribers (the replication transport ships
 * records to peers through one).
 *
 * Re-entrancy: a sink or subscriber may itself log (a transport reporting a
 * send failure). Such nested records are queued and delivered after the
 * current one, one level deep only; records born deeper stay in the ring and
 * are counted as `nestedDropped`, so a subscriber that logs on every record
 * cannot loop or recurse without end. A subscriber that throws (or whose
 * promise rejects) is removed; a sink that throws is counted and kept.
 *
 * Cost sketch: a record is one small frozen object plus a shallow copy of the
 * fields; the ring holds references only. Debug records below `minLevel` cost
 * one comparison, so hot paths may log at debug without measuring first.
 */
import type { Clock } from "../platform/clock.ts";
import { VirtualClock } from "../platform/clock.ts";
import { writeStderrLine } from "../platform/stderr.ts";
import { InvalidArgumentError } from "../errors.ts";
import { formatLogLine } from "./format.ts";

export type LogLevel = "debug" | "info" | "warn" | "error";

/** The levels from least to most severe. */
export const LOG_LEVELS: readonly LogLevel[] = Object.freeze(["debug", "info", "warn", "error"]);

const LEVEL_RANK: Readonly<Record<LogLevel, number>> = Object.freeze({ debug: 0, info: 1, warn: 2, error: 3 });

export interface LogRecord {
  /** Wall-clock milliseconds from the log's Clock. */
  readonly timeMs: number;
  readonly level: LogLevel;
  /** Dotted path of the emitting part, e.g. "engine.wal"; "" for the root log. */
  readonly component: string;
  /** A stable machine-readable name, e.g. "wal.recovered". */
  readonly event: string;
  readonly fields: Readonly<Record<string, unknown>>;
  /** The node that emitted the record, when the log belongs to one. */
  readonly node?: string;
}

export type LogSink = (record: LogRecord) => void;
/** May return a promise; a rejection removes the subscriber like a throw does. */
export type LogSubscriber = (record: LogRecord) => void | Promise<void>;

export interface LevelOptions {
  /** Least severe level delivered (default "debug": everything the log keeps). */
  minLevel?: LogLevel;
}

/** A sink with its own level filter, as given to `createLog`. */
export interface LogSinkSpec extends LevelOptions {
  sink: LogSink;
}

export interface CreateLogOptions {
  clock: Clock;
  /** Records below this level are not kept at all (default "info"). */
  minLevel?: LogLevel;
  /** Sinks; default: one stderr sink for warn and error. Pass [] for none. */
  sinks?: readonly (LogSink | LogSinkSpec)[];
  /** Node id stamped on every record. */
  node?: string;
  /** Component of the root log (default ""). */
  component?: string;
  /** Capacity of the ring of recent records (default 1024, at least 1). */
  recentMax?: number;
}

export interface LogStats {
  /** Records kept (passed the log's minLevel) since creation. */
  records: number;
  /** Nested records kept in the ring but not delivered (logged from a sink or subscriber too deep). */
  nestedDropped: number;
  /** Sink calls that threw. */
  sinkErrors: number;
  /** Subscribers removed because they threw or rejected. */
  subscribersRemoved: number;
  sinks: number;
  subscribers: number;
}

export const LOG_RECENT_MAX_DEFAULT = 1024;
/** Records waiting for delivery while another is being delivered; beyond it they are dropped. */
export const LOG_PENDING_MAX = 1024;
/** How deep a record logged from inside a sink or subscriber may be and still be delivered. */
const NESTING_DELIVERED_MAX = 1;
const RECENT_MAX_LIMIT = 1 << 20;

/** True if `level` is at least as severe as `min`. */
export function levelAtLeast(level: LogLevel, min: LogLevel): boolean { // A
  return LEVEL_RANK[level] >= LEVEL_RANK[min];
}

/** Parses a level name (for configuration); InvalidArgumentError if unknown. */
export function parseLogLevel(name: string): LogLevel { // A
  const lower = name.toLowerCase();
  if (isLogLevel(lower)) return lower;
  throw new InvalidArgumentError(`unknown log level "${name}"; use one of ${LOG_LEVELS.join(", ")}`);
}

function isLogLevel(name: string): name is LogLevel { // A
  return Object.prototype.hasOwnProperty.call(LEVEL_RANK, name);
}

function checkLevel(level: LogLevel, what: string): LogLevel { // A
  if (!isLogLevel(level)) {
    throw new InvalidArgumentError(`${what} "${String(level)}" is not a log level; use one of ${LOG_LEVELS.join(", ")}`);
  }
  return level;
}

/** A sink that writes warn and error records (or from `minLevel` up) as lines on stderr. */
export function stderrSink(minLevel: LogLevel = "warn"): LogSinkSpec { // A
  return { sink: (record) => writeStderrLine(formatLogLine(record)), minLevel: checkLevel(minLevel, "stderr sink minLevel") };
}

/** Fixed-capacity ring of the most recent records, oldest overwritten first. */
class RecordRing {
  private readonly slots: (LogRecord | undefined)[];
  private nextIndex = 0;
  private size = 0;

  constructor(readonly capacity: number) { // A
    this.slots = new Array<LogRecord | undefined>(capacity).fill(undefined);
  }

  push(record: LogRecord): void { // A
    this.slots[this.nextIndex] = record;
    this.nextIndex = (this.nextIndex + 1) % this.capacity;
    if (this.size < this.capacity) this.size++;
  }

  /** The last `n` records, oldest first. */
  last(n: number): LogRecord[] { // A
    const count = Math.max(0, Math.min(Math.floor(n), this.size));
    const out: LogRecord[] = [];
    for (let i = count; i > 0; i--) {
      out.push(this.slots[(this.nextIndex - i + this.capacity) % this.capacity]!);
    }
    return out;
  }
}

interface SinkEntry {
  readonly sink: LogSink;
  readonly minLevel: LogLevel;
}

interface SubscriberEntry {
  readonly fn: LogSubscriber;
  readonly minLevel: LogLevel;
}

interface Pending {
  readonly record: LogRecord;
  readonly depth: number;
}

/** @internal State shared by a log and all of its children; not part of the public face. */
export class LogCore {
  minLevel: LogLevel;
  // Copy-on-write arrays: delivery iterates a snapshot, so (un)subscribing
  // from inside a callback never skips or repeats anyone.
  sinks: readonly SinkEntry[] = [];
  subscribers: readonly SubscriberEntry[] = [];
  readonly ring: RecordRing;
  readonly stats = { records: 0, nestedDropped: 0, sinkErrors: 0, subscribersRemoved: 0 };
  private readonly pending: Pending[] = [];
  private delivering = false;
  private depthNow = 0;

  constructor(readonly clock: Clock, minLevel: LogLevel, recentMax: number) { // A
    this.minLevel = minLevel;
    this.ring = new RecordRing(recentMax);
  }

  /** Keeps `record` and delivers it, or queues it if a delivery is under way. */
  emit(record: LogRecord): void { // A
    this.stats.records++;
    this.ring.push(record);
    if (this.delivering) {
      const depth = this.depthNow + 1;
      if (depth > NESTING_DELIVERED_MAX || this.pending.length >= LOG_PENDING_MAX) {
        this.stats.nestedDropped++;
        return;
      }
      this.pending.push({ record, depth });
      return;
    }
    this.drain(record);
  }

  private drain(first: LogRecord): void { // A
    this.delivering = true;
    this.pending.push({ record: first, depth: 0 });
    try {
      for (let i = 0; i < this.pending.length; i++) {
        const item = this.pending[i]!;
        this.depthNow = item.depth;
        this.deliver(item.record);
      }
    } finally {
      this.pending.length = 0;
      this.depthNow = 0;
      this.delivering = false;
    }
  }

  private deliver(record: LogRecord): void { // A
    for (const entry of this.sinks) {
      if (!levelAtLeast(record.level, entry.minLevel)) continue;
      try {
        entry.sink(record);
      } catch {
        this.stats.sinkErrors++;
      }
    }
    for (const entry of this.subscribers) {
      if (!levelAtLeast(record.level, entry.minLevel)) continue;
      this.callSubscriber(entry, record);
    }
  }

  private callSubscriber(entry: SubscriberEntry, record: LogRecord): void { // A
    let result: unknown;
    try {
      result = entry.fn(record);
    } catch (err) {
      this.removeFailedSubscriber(entry, err);
      return;
    }
    if (isThenable(result)) {
      result.then(undefined, (err: unknown) => this.removeFailedSubscriber(entry, err));
    }
  }

  /** Drops a subscriber that failed and says so in the log (delivered as a nested record). */
  private removeFailedSubscriber(entry: SubscriberEntry, err: unknown): void { // A
    if (!this.subscribers.includes(entry)) return;
    this.subscribers = this.subscribers.filter((s) => s !== entry);
    this.stats.subscribersRemoved++;
    const message = err instanceof Error ? err.message : String(err);
    this.emit(freezeRecord(this.clock.nowMs(), "warn", "log", "log.subscriber_removed", { error: message }, undefined));
  }

  addSink(sink: LogSink, minLevel: LogLevel): () => void { // A
    const entry: SinkEntry = { sink, minLevel: checkLevel(minLevel, "sink minLevel") };
    this.sinks = [...this.sinks, entry];
    return () => {
      this.sinks = this.sinks.filter((s) => s !== entry);
    };
  }

  subscribe(fn: LogSubscriber, minLevel: LogLevel): () => void { // A
    const entry: SubscriberEntry = { fn, minLevel: checkLevel(minLevel, "subscriber minLevel") };
    this.subscribers = [...this.subscribers, entry];
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== entry);
    };
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> { // A
  return typeof value === "object" && value !== null && typeof (value as { then?: unknown }).then === "function";
}

function freezeRecord( // A
  timeMs: number,
  level: LogLevel,
  component: string,
  event: string,
  fields: Readonly<Record<string, unknown>> | undefined,
  node: string | undefined,
): LogRecord {
  const copy = Object.freeze(fields === undefined ? {} : { ...fields });
  const record: LogRecord = node === undefined
    ? { timeMs, level, component, event, fields: copy }
    : { timeMs, level, component, event, fields: copy, node };
  return Object.freeze(record);
}

/** A handle on the cluster log for one component; children share sinks, subscribers and ring. */
export class ClusterLog {
  /** @internal Use `createLog` or `child`. */
  constructor( // A
    private readonly core: LogCore,
    readonly component: string,
    readonly node: string | undefined,
  ) {}

  debug(event: string, fields?: Record<string, unknown>): void { // A
    this.log("debug", event, fields);
  }

  info(event: string, fields?: Record<string, unknown>): void { // A
    this.log("info", event, fields);
  }

  warn(event: string, fields?: Record<string, unknown>): void { // A
    this.log("warn", event, fields);
  }

  error(event: string, fields?: Record<string, unknown>): void { // A
    this.log("error", event, fields);
  }

  log(level: LogLevel, event: string, fields?: Record<string, unknown>): void { // A
    if (!levelAtLeast(level, this.core.minLevel)) return;
    this.core.emit(freezeRecord(this.core.clock.nowMs(), level, this.component, event, fields, this.node));
  }

  /** True if a record at `level` would be kept; guards costly field building. */
  enabled(level: LogLevel): boolean { // A
    return levelAtLeast(level, this.core.minLevel);
  }

  /** A log for a sub-component ("engine" -> "engine.wal"); `node` overrides the node id. */
  child(component: string, options: { node?: string } = {}): ClusterLog { // A
    const path = this.component === "" ? component : component === "" ? this.component : `${this.component}.${component}`;
    return new ClusterLog(this.core, path, options.node ?? this.node);
  }

  /** Adds a sink for the whole log tree; returns its removal. */
  addSink(sink: LogSink, options: LevelOptions = {}): () => void { // A
    return this.core.addSink(sink, options.minLevel ?? "debug");
  }

  /** Subscribes to records of the whole log tree; returns the unsubscribe. */
  subscribe(fn: LogSubscriber, options: LevelOptions = {}): () => void { // A
    return this.core.subscribe(fn, options.minLevel ?? "debug");
  }

  /** The last `n` records kept (all of them, up to the ring's capacity, by default), oldest first. */
  recent(n: number = this.core.ring.capacity): LogRecord[] { // A
    return this.core.ring.last(n);
  }

  get minLevel(): LogLevel { // A
    return this.core.minLevel;
  }

  /** Changes the level for the whole log tree (an operator turning debug on). */
  setMinLevel(level: LogLevel): void { // A
    this.core.minLevel = checkLevel(level, "minLevel");
  }

  stats(): LogStats { // A
    return { ...this.core.stats, sinks: this.core.sinks.length, subscribers: this.core.subscribers.length };
  }
}

/** Creates a root log. Without `sinks`, warn and error go to stderr. */
export function createLog(options: CreateLogOptions): ClusterLog { // A
  const recentMax = options.recentMax ?? LOG_RECENT_MAX_DEFAULT;
  if (!Number.isSafeInteger(recentMax) || recentMax < 1 || recentMax > RECENT_MAX_LIMIT) {
    throw new InvalidArgumentError(`recentMax must be an integer in 1..${RECENT_MAX_LIMIT}, got ${recentMax}`);
  }
  const core = new LogCore(options.clock, checkLevel(options.minLevel ?? "info", "minLevel"), recentMax);
  for (const spec of options.sinks ?? [stderrSink()]) {
    if (typeof spec === "function") core.addSink(spec, "debug");
    else core.addSink(spec.sink, spec.minLevel ?? "debug");
  }
  return new ClusterLog(core, options.component ?? "", options.node);
}

/**
 * A log that writes nowhere (for tests): records still reach the ring and any
 * subscriber, at every level, stamped by `clock` (a VirtualClock at 0 by default).
 */
export function silentLog(clock: Clock = new VirtualClock(0)): ClusterLog { // A
  return createLog({ clock, minLevel: "debug", sinks: [] });
}
