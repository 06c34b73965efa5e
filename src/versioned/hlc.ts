/**
 * Hybrid logical clock (Kulkarni et al., 2014): timestamps that stay close
 * to wall-clock time, yet never go backwards on one node and always exceed
 * every timestamp the node has seen from others. A version record carries
 * one; "last writer wins" and as-of reads by time compare them.
 *
 * A timestamp is (ms, counter): ms is the physical part (Unix ms, at most
 * HLC_MAX_MS, the largest 13-digit number, year 2286), counter the logical
 * part (u32) that orders events within one ms. Two encodings, each with the
 * same order as the pair (ms, counter) compared lexicographically:
 * - text (the `hlc` field of a Version): 13 decimal digits of ms,
 *   zero-padded, "-", 8 lowercase hex digits of counter, 22 characters,
 *   e.g. "1700000000000-0000001a". Fixed width, digits and lowercase hex are
 *   ascending in ASCII, so JS string order is timestamp order. Exactly one
 *   text per timestamp (no uppercase, no sign, no spaces).
 * - bytes (the canonical version record, index keys): 12 bytes, u64 ms then
 *   u32 counter, both BIG-endian (the exception to SPEC.md's little-endian
 *   rule) so that unsigned bytewise order is timestamp order too.
 *
 * Rules of `Hlc` (pt = the injected clock's nowMs(), floored, clamped into
 * [0, HLC_MAX_MS]):
 * - now(): ms = max(last.ms, pt); counter = last.counter + 1 if ms equals
 *   last.ms, else 0.
 * - observe(r): rejected with ClockDriftError, state untouched, if
 *   r.ms > pt + maxDriftMs; else ms = max(last.ms, r.ms, pt) and counter =
 *   1 + the largest counter among last and r whose ms equals the new ms
 *   (0 if neither does).
 * - a counter past HLC_MAX_COUNTER moves to (ms + 1, 0): still greater than
 *   everything before it, and ms then runs at most a ms ahead of the clock.
 * - restart: the store persists the highest timestamp issued and passes it
 *   as `last`; the clock then continues above it even if the wall clock went
 *   backwards meanwhile (the counter carries on within last.ms).
 * Cost: a few comparisons per call, no allocation beyond the result.
 */
import { BudgetExceededError, ClockDriftError, CorruptionError, InvalidArgumentError } from "../errors.ts";
import type { Clock } from "../platform/clock.ts";

/** A hybrid logical clock timestamp. Order: by ms, then by counter. */
export interface HlcTimestamp {
  readonly ms: number;
  readonly counter: number;
}

/** Largest physical part: 13 decimal digits (2286-11-20T17:46:39.999Z). */
export const HLC_MAX_MS = 9_999_999_999_999;
/** Largest logical part: a u32. */
export const HLC_MAX_COUNTER = 0xffff_ffff;
/** Characters of the text form. */
export const HLC_TEXT_LENGTH = 22;
/** Bytes of the binary form. */
export const HLC_BYTES = 12;
/** Default bound on how far ahead of the local clock a received timestamp may be. */
export const DEFAULT_MAX_DRIFT_MS = 60_000;
/** The smallest timestamp; below every timestamp a clock issues. */
export const HLC_ZERO: HlcTimestamp = Object.freeze({ ms: 0, counter: 0 });

const TEXT_FORM = /^[0-9]{13}-[0-9a-f]{8}$/;
const TWO_32 = 0x1_0000_0000;

function isValidMs(ms: number): boolean { // A
  return Number.isInteger(ms) && ms >= 0 && ms <= HLC_MAX_MS;
}

function isValidCounter(counter: number): boolean { // A
  return Number.isInteger(counter) && counter >= 0 && counter <= HLC_MAX_COUNTER;
}

/** Returns `ts` (as a fresh frozen object) or throws InvalidArgumentError naming what is wrong. */
export function checkHlc(ts: HlcTimestamp, what = "HLC timestamp"): HlcTimestamp { // A
  if (typeof ts !== "object" || ts === null) throw new InvalidArgumentError(`${what} must be an object { ms, counter }`);
  if (!isValidMs(ts.ms)) throw new InvalidArgumentError(`${what}: ms ${String(ts.ms)} is not an integer in [0, ${HLC_MAX_MS}]`);
  if (!isValidCounter(ts.counter)) {
    throw new InvalidArgumentError(`${what}: counter ${String(ts.counter)} is not an integer in [0, ${HLC_MAX_COUNTER}]`);
  }
  return Object.freeze({ ms: ts.ms, counter: ts.counter });
}

/** Negative, zero or positive as a is before, equal to or after b. */
export function compareHlc(a: HlcTimestamp, b: HlcTimestamp): number { // A
  return a.ms !== b.ms ? (a.ms < b.ms ? -1 : 1) : a.counter !== b.counter ? (a.counter < b.counter ? -1 : 1) : 0;
}

/** The canonical 22-character text form. */
export function formatHlc(ts: HlcTimestamp): string { // A
  checkHlc(ts);
  return `${String(ts.ms).padStart(13, "0")}-${ts.counter.toString(16).padStart(8, "0")}`;
}

/** Parses the canonical text form; anything else is an InvalidArgumentError. */
export function parseHlc(text: string): HlcTimestamp { // PA
  if (typeof text !== "string" || text.length !== HLC_TEXT_LENGTH || !TEXT_FORM.test(text)) {
    const shown = typeof text === "string" ? JSON.stringify(text.slice(0, 40)) : typeof text;
    throw new InvalidArgumentError(`malformed HLC timestamp ${shown}; expected 13 decimal digits, "-", 8 lowercase hex digits`);
  }
  return Object.freeze({ ms: Number(text.slice(0, 13)), counter: parseInt(text.slice(14), 16) });
}

/** Writes the 12-byte big-endian form into `out` at `offset` (a new array by default); returns `out`. */
export function encodeHlc(ts: HlcTimestamp, out: Uint8Array = new Uint8Array(HLC_BYTES), offset = 0): Uint8Array { // PA
  checkHlc(ts);
  if (!Number.isInteger(offset) || offset < 0 || offset + HLC_BYTES > out.length) {
    throw new InvalidArgumentError(`no room for ${HLC_BYTES} HLC bytes at offset ${offset} of a ${out.length}-byte array`);
  }
  const view = new DataView(out.buffer, out.byteOffset + offset, HLC_BYTES);
  view.setUint32(0, Math.floor(ts.ms / TWO_32));
  view.setUint32(4, ts.ms % TWO_32);
  view.setUint32(8, ts.counter);
  return out;
}

/**
 * Reads the 12-byte form at `offset`. Bytes come from disk or the wire, so a
 * short input or an ms beyond HLC_MAX_MS is a CorruptionError (callers add
 * the key or record id).
 */
export function decodeHlc(bytes: Uint8Array, offset = 0): HlcTimestamp { // PA
  if (!Number.isInteger(offset) || offset < 0 || offset + HLC_BYTES > bytes.length) {
    throw new CorruptionError(`HLC timestamp truncated: needs ${HLC_BYTES} bytes at offset ${offset}, record has ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, HLC_BYTES);
  const ms = view.getUint32(0) * TWO_32 + view.getUint32(4);
  if (ms > HLC_MAX_MS) throw new CorruptionError(`HLC timestamp at offset ${offset} has ms ${ms} beyond ${HLC_MAX_MS}`);
  return Object.freeze({ ms, counter: view.getUint32(8) });
}

/** Options of an Hlc. */
export interface HlcOptions {
  /** The highest timestamp issued before (persisted across restarts); every new one is greater. */
  last?: HlcTimestamp;
  /** How far (ms) a received timestamp may lie ahead of the local clock; default DEFAULT_MAX_DRIFT_MS. */
  maxDriftMs?: number;
}

/**
 * The timestamp after `last`, given the physical time and optionally a
 * received timestamp: the standard HLC step, with counter overflow moving
 * to the next ms.
 */
function nextTimestamp(last: HlcTimestamp, physicalMs: number, remote?: HlcTimestamp): HlcTimestamp { // PA
  const ms = Math.max(last.ms, physicalMs, remote === undefined ? 0 : remote.ms);
  let counterBase = -1;
  if (last.ms === ms) counterBase = last.counter;
  if (remote !== undefined && remote.ms === ms) counterBase = Math.max(counterBase, remote.counter);
  if (counterBase < HLC_MAX_COUNTER) return Object.freeze({ ms, counter: counterBase + 1 });
  if (ms >= HLC_MAX_MS) {
    throw new BudgetExceededError(`hybrid logical clock exhausted at ${formatHlc({ ms, counter: counterBase })}: no later timestamp exists`);
  }
  return Object.freeze({ ms: ms + 1, counter: 0 });
}

/** A hybrid logical clock for one node, fed by an injected Clock. Not shared between nodes. */
export class Hlc {
  readonly maxDriftMs: number;
  private lastIssued: HlcTimestamp;

  constructor(private readonly clock: Clock, options: HlcOptions = {}) { // A
    const drift = options.maxDriftMs ?? DEFAULT_MAX_DRIFT_MS;
    if (typeof drift !== "number" || !Number.isFinite(drift) || drift < 0) {
      throw new InvalidArgumentError(`maxDriftMs must be a finite number >= 0, got ${String(drift)}`);
    }
    this.maxDriftMs = drift;
    this.lastIssued = options.last === undefined ? HLC_ZERO : checkHlc(options.last, "initial HLC timestamp (last)");
  }

  /** The highest timestamp issued or merged so far: what the store persists. */
  get last(): HlcTimestamp { // A
    return this.lastIssued;
  }

  /** The physical time in whole ms, clamped into the representable range. */
  private physicalMs(): number { // A
    const raw = this.clock.nowMs();
    if (typeof raw !== "number" || Number.isNaN(raw)) throw new InvalidArgumentError(`the clock returned ${String(raw)} instead of a time in ms`);
    return Math.min(HLC_MAX_MS, Math.max(0, Math.floor(raw)));
  }

  /** A timestamp for a local event (a put or delete): greater than every one issued or observed before. */
  now(): HlcTimestamp { // PA
    this.lastIssued = nextTimestamp(this.lastIssued, this.physicalMs());
    return this.lastIssued;
  }

  /**
   * Merges a received timestamp and returns the timestamp of the receipt,
   * greater than both it and everything before. A timestamp more than
   * maxDriftMs ahead of the local clock is refused with ClockDriftError and
   * leaves the clock as it was; `from` names the peer in that error.
   */
  observe(remote: HlcTimestamp, from?: string): HlcTimestamp { // PA
    const r = checkHlc(remote, `HLC timestamp${from === undefined ? "" : ` from ${from}`}`);
    const physical = this.physicalMs();
    if (r.ms - physical > this.maxDriftMs) throw new ClockDriftError(r.ms, physical, this.maxDriftMs, from);
    this.lastIssued = nextTimestamp(this.lastIssued, physical, r);
    return this.lastIssued;
  }
}
