/**
 * The hybrid logical clock: monotonic under a wall clock that jumps back and
 * across restarts, observe() merges received timestamps, drift beyond the
 * bound is refused without touching the state, counter overflow, and the
 * text and binary forms (round trips, order equal to (ms, counter) order,
 * malformed input refused with typed errors).
 */
import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { BudgetExceededError, ClockDriftError, CorruptionError, InvalidArgumentError } from "../../src/errors.ts";
import { VirtualClock } from "../../src/platform/clock.ts";
import {
  checkHlc,
  compareHlc,
  decodeHlc,
  DEFAULT_MAX_DRIFT_MS,
  encodeHlc,
  formatHlc,
  Hlc,
  HLC_BYTES,
  HLC_MAX_COUNTER,
  HLC_MAX_MS,
  HLC_TEXT_LENGTH,
  type HlcTimestamp,
  parseHlc,
} from "../../src/versioned/hlc.ts";

const T0 = 1_700_000_000_000;
const ts = (ms: number, counter: number): HlcTimestamp => ({ ms, counter });
const sign = (n: number): number => (n < 0 ? -1 : n > 0 ? 1 : 0);

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** Timestamps that often share ms (and sometimes counter), including the extremes. */
const arbMs = fc.oneof(fc.constantFrom(0, 1, T0, 2 ** 32 - 1, 2 ** 32, HLC_MAX_MS), fc.integer({ min: 0, max: HLC_MAX_MS }), fc.integer({ min: T0, max: T0 + 3 }));
const arbCounter = fc.oneof(fc.constantFrom(0, 1, 9, 10, 15, 16, HLC_MAX_COUNTER), fc.integer({ min: 0, max: HLC_MAX_COUNTER }));
const arbTs = fc.record({ ms: arbMs, counter: arbCounter });

describe("HLC encodings", () => {
  test("text form examples", () => {
    expect(formatHlc(ts(T0, 26))).toBe("1700000000000-0000001a");
    expect(formatHlc(ts(0, 0))).toBe("0000000000000-00000000");
    expect(formatHlc(ts(HLC_MAX_MS, HLC_MAX_COUNTER))).toBe("9999999999999-ffffffff");
    expect(formatHlc(ts(T0, 26))).toHaveLength(HLC_TEXT_LENGTH);
  });

  test("binary form examples: big-endian u64 ms, u32 counter", () => {
    expect([...encodeHlc(ts(0x01_0203_0405, 0x0607_0809))]).toEqual([0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = new Uint8Array(20).fill(0xee);
    encodeHlc(ts(T0, 7), out, 5);
    expect(out[4]).toBe(0xee);
    expect(out[17]).toBe(0xee);
    expect(decodeHlc(out, 5)).toEqual(ts(T0, 7));
  });

  test("round trips through text and bytes", () => {
    fc.assert(
      fc.property(arbTs, (t) => {
        expect(parseHlc(formatHlc(t))).toEqual(t);
        const bytes = encodeHlc(t);
        expect(bytes).toHaveLength(HLC_BYTES);
        expect(decodeHlc(bytes)).toEqual(t);
      }),
      { numRuns: 500 },
    );
  });

  test("string order and byte order both equal (ms, counter) order", () => {
    fc.assert(
      fc.property(arbTs, arbTs, (a, b) => {
        const want = sign(compareHlc(a, b));
        const sa = formatHlc(a);
        const sb = formatHlc(b);
        expect(sign(sa < sb ? -1 : sa > sb ? 1 : 0)).toBe(want);
        expect(sign(compareBytes(encodeHlc(a), encodeHlc(b)))).toBe(want);
        expect(want).toBe(a.ms !== b.ms ? sign(a.ms - b.ms) : sign(a.counter - b.counter));
      }),
      { numRuns: 1000 },
    );
  });

  test("every text that parses is the canonical text of its timestamp", () => {
    const chars = fc.constantFrom(..."0123456789abcdefABCDEF- +x".split(""));
    fc.assert(
      fc.property(fc.array(chars, { minLength: 20, maxLength: 24 }), fc.boolean(), (cs, keepShape) => {
        if (keepShape && cs.length >= 14) cs[13] = "-";
        const text = cs.join("");
        let parsed: HlcTimestamp;
        try {
          parsed = parseHlc(text);
        } catch (e) {
          expect(e).toBeInstanceOf(InvalidArgumentError);
          return;
        }
        expect(formatHlc(parsed)).toBe(text);
      }),
      { numRuns: 1000 },
    );
  });

  test("malformed text is an InvalidArgumentError", () => {
    const bad = [
      "", "1700000000000-0000001A", "1700000000000-0000001", "170000000000-0000001a", "1700000000000_0000001a",
      " 700000000000-0000001a", "+700000000000-0000001a", "1700000000000-0000001a ", "1700000000000-0x00001a",
      "1700000000000-000000001a", "17000000000000-000001a", "１700000000000-0000001a",
    ];
    for (const text of bad) expect(() => parseHlc(text), text).toThrow(InvalidArgumentError);
    expect(() => parseHlc(42 as unknown as string)).toThrow(InvalidArgumentError);
  });

  test("malformed bytes are a CorruptionError", () => {
    expect(() => decodeHlc(new Uint8Array(11))).toThrow(CorruptionError);
    expect(() => decodeHlc(new Uint8Array(12), 1)).toThrow(CorruptionError);
    expect(() => decodeHlc(new Uint8Array(12), -1)).toThrow(CorruptionError);
    expect(() => decodeHlc(new Uint8Array(12).fill(0xff))).toThrow(CorruptionError);
    const beyond = new Uint8Array(12);
    new DataView(beyond.buffer).setBigUint64(0, BigInt(HLC_MAX_MS) + 1n);
    expect(() => decodeHlc(beyond)).toThrow(CorruptionError);
    expect(decodeHlc(encodeHlc(ts(HLC_MAX_MS, 0)))).toEqual(ts(HLC_MAX_MS, 0));
  });

  test("out-of-range timestamps are refused by every encoder", () => {
    const bad = [ts(-1, 0), ts(1.5, 0), ts(NaN, 0), ts(HLC_MAX_MS + 1, 0), ts(0, -1), ts(0, HLC_MAX_COUNTER + 1), ts(0, 0.5)];
    for (const t of bad) {
      expect(() => checkHlc(t)).toThrow(InvalidArgumentError);
      expect(() => formatHlc(t)).toThrow(InvalidArgumentError);
      expect(() => encodeHlc(t)).toThrow(InvalidArgumentError);
    }
    expect(() => encodeHlc(ts(0, 0), new Uint8Array(11))).toThrow(InvalidArgumentError);
  });
});

describe("Hlc", () => {
  test("follows the wall clock and counts within a millisecond", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock);
    expect(hlc.now()).toEqual(ts(T0, 0));
    expect(hlc.now()).toEqual(ts(T0, 1));
    clock.advance(5);
    expect(hlc.now()).toEqual(ts(T0 + 5, 0));
    clock.setWallMs(T0 + 7.9);
    expect(hlc.now()).toEqual(ts(T0 + 7, 0));
    expect(hlc.last).toEqual(ts(T0 + 7, 0));
  });

  test("a wall clock that jumps backwards never makes time go backwards", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock);
    clock.advance(1000);
    expect(hlc.now()).toEqual(ts(T0 + 1000, 0));
    clock.setWallMs(T0);
    expect(hlc.now()).toEqual(ts(T0 + 1000, 1));
    expect(hlc.now()).toEqual(ts(T0 + 1000, 2));
    clock.setWallMs(T0 + 1001);
    expect(hlc.now()).toEqual(ts(T0 + 1001, 0));
  });

  test("strictly increasing and close to the clock under random jumps (model)", () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant("advance" as const), ms: fc.integer({ min: 0, max: 50 }) }),
      fc.record({ kind: fc.constant("jump" as const), ms: fc.integer({ min: -100_000, max: 100_000 }) }),
      fc.record({ kind: fc.constant("now" as const), ms: fc.constant(0) }),
      fc.record({ kind: fc.constant("restart" as const), ms: fc.constant(0) }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const clock = new VirtualClock(T0);
        let hlc = new Hlc(clock);
        let prev: HlcTimestamp | undefined;
        let maxWall = clock.nowMs();
        for (const o of ops) {
          if (o.kind === "advance") clock.advance(o.ms);
          else if (o.kind === "jump") clock.setWallMs(Math.max(0, clock.nowMs() + o.ms));
          else if (o.kind === "restart") hlc = new Hlc(clock, { last: hlc.last });
          else {
            const t = hlc.now();
            if (prev !== undefined) expect(compareHlc(t, prev)).toBeGreaterThan(0);
            expect(t.ms).toBeGreaterThanOrEqual(clock.nowMs());
            expect(t.ms).toBeLessThanOrEqual(Math.max(maxWall, clock.nowMs()));
            prev = t;
          }
          maxWall = Math.max(maxWall, clock.nowMs());
        }
      }),
      { numRuns: 200 },
    );
  });

  test("a restart with a clock that went backwards issues greater timestamps", () => {
    const clock = new VirtualClock(T0 + 60_000);
    const before = new Hlc(clock);
    before.now();
    const persisted = formatHlc(before.now());
    clock.setWallMs(T0);
    const after = new Hlc(clock, { last: parseHlc(persisted) });
    const next = after.now();
    expect(next).toEqual(ts(T0 + 60_000, 2));
    expect(formatHlc(next) > persisted).toBe(true);
  });

  test("observe() merges a remote timestamp by the HLC rules", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock);
    expect(hlc.now()).toEqual(ts(T0, 0));
    // Remote ahead (within drift): take its ms and counter + 1.
    expect(hlc.observe(ts(T0 + 500, 7))).toEqual(ts(T0 + 500, 8));
    // Local events now stay above the remote even though the wall clock is behind.
    expect(hlc.now()).toEqual(ts(T0 + 500, 9));
    // Same ms on both sides: max counter + 1.
    expect(hlc.observe(ts(T0 + 500, 20))).toEqual(ts(T0 + 500, 21));
    expect(hlc.observe(ts(T0 + 500, 3))).toEqual(ts(T0 + 500, 22));
    // Remote behind: like a local event.
    expect(hlc.observe(ts(T0 - 10_000, 99))).toEqual(ts(T0 + 500, 23));
    // Wall clock passes everything: counter restarts.
    clock.advance(1000);
    expect(hlc.observe(ts(T0 + 600, 1))).toEqual(ts(T0 + 1000, 0));
    expect(hlc.last).toEqual(ts(T0 + 1000, 0));
  });

  test("observe() result exceeds both the remote and every earlier timestamp (property)", () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ remoteOffsetMs: fc.integer({ min: -5000, max: 5000 }), counter: arbCounter, tickMs: fc.integer({ min: -20, max: 20 }) }), { maxLength: 100 }),
        (steps) => {
          const clock = new VirtualClock(T0);
          const hlc = new Hlc(clock, { maxDriftMs: 5000 });
          let prev = hlc.last;
          for (const s of steps) {
            clock.setWallMs(clock.nowMs() + s.tickMs);
            const remote = ts(clock.nowMs() + s.remoteOffsetMs, s.counter);
            const t = hlc.observe(remote);
            expect(compareHlc(t, remote)).toBeGreaterThan(0);
            expect(compareHlc(t, prev)).toBeGreaterThan(0);
            const local = hlc.now();
            expect(compareHlc(local, t)).toBeGreaterThan(0);
            prev = local;
          }
        },
      ),
      { numRuns: 200 },
    );
  });

  test("a remote more than maxDriftMs ahead is refused and the state is unchanged", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock);
    const twin = new Hlc(clock);
    expect(hlc.maxDriftMs).toBe(DEFAULT_MAX_DRIFT_MS);
    hlc.now();
    twin.now();
    let err: unknown;
    try {
      hlc.observe(ts(T0 + DEFAULT_MAX_DRIFT_MS + 1, 0), "node-b");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ClockDriftError);
    const drift = err as ClockDriftError;
    expect(drift.code).toBe("ERR_CLOCK_DRIFT");
    expect(drift.remoteMs).toBe(T0 + DEFAULT_MAX_DRIFT_MS + 1);
    expect(drift.localMs).toBe(T0);
    expect(drift.maxDriftMs).toBe(DEFAULT_MAX_DRIFT_MS);
    expect(drift.message).toContain("node-b");
    expect(hlc.last).toEqual(twin.last);
    expect(hlc.now()).toEqual(twin.now());
    // Exactly at the bound is accepted.
    expect(hlc.observe(ts(T0 + DEFAULT_MAX_DRIFT_MS, 0))).toEqual(ts(T0 + DEFAULT_MAX_DRIFT_MS, 1));
  });

  test("the drift bound is configurable and measured against the physical clock", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock, { maxDriftMs: 10, last: ts(T0 + 1000, 0) });
    // The logical clock is already ahead, but the bound is from the wall clock.
    expect(() => hlc.observe(ts(T0 + 11, 0))).toThrow(ClockDriftError);
    expect(hlc.last).toEqual(ts(T0 + 1000, 0));
    expect(hlc.observe(ts(T0 + 10, 0))).toEqual(ts(T0 + 1000, 1));
  });

  test("counter overflow moves to the next millisecond", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock);
    expect(hlc.observe(ts(T0, HLC_MAX_COUNTER))).toEqual(ts(T0 + 1, 0));
    expect(hlc.now()).toEqual(ts(T0 + 1, 1));
    const restarted = new Hlc(clock, { last: ts(T0 + 5, HLC_MAX_COUNTER) });
    expect(restarted.now()).toEqual(ts(T0 + 6, 0));
  });

  test("the end of representable time is an explicit error, not a wrap", () => {
    const clock = new VirtualClock(T0);
    const hlc = new Hlc(clock, { last: ts(HLC_MAX_MS, HLC_MAX_COUNTER) });
    expect(() => hlc.now()).toThrow(BudgetExceededError);
    expect(hlc.last).toEqual(ts(HLC_MAX_MS, HLC_MAX_COUNTER));
  });

  test("bad options, bad remote timestamps and a broken clock are refused", () => {
    const clock = new VirtualClock(T0);
    expect(() => new Hlc(clock, { maxDriftMs: -1 })).toThrow(InvalidArgumentError);
    expect(() => new Hlc(clock, { maxDriftMs: Number.NaN })).toThrow(InvalidArgumentError);
    expect(() => new Hlc(clock, { last: ts(-5, 0) })).toThrow(InvalidArgumentError);
    const hlc = new Hlc(clock);
    hlc.now();
    const before = hlc.last;
    expect(() => hlc.observe(ts(T0, -1))).toThrow(InvalidArgumentError);
    expect(() => hlc.observe(ts(T0 + 0.5, 0))).toThrow(InvalidArgumentError);
    expect(hlc.last).toEqual(before);
    clock.setWallMs(Number.NaN);
    expect(() => hlc.now()).toThrow(InvalidArgumentError);
    expect(hlc.last).toEqual(before);
    clock.setWallMs(-10);
    expect(hlc.now()).toEqual(ts(T0, 1));
  });
});
