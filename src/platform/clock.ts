/**
 * Time enters the code base only here. `SystemClock` reads the runtime's
 * clocks; `VirtualClock` is advanced by hand (tests, simulator), so a run
 * that depends on time replays exactly from its seed.
 */

export interface Clock {
  /** Wall-clock milliseconds since the Unix epoch (may jump, may go backwards). */
  nowMs(): number;
  /** Monotonic milliseconds with sub-millisecond resolution, for durations. */
  monotonicMs(): number;
  /** Resolves after `ms` milliseconds of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export class SystemClock implements Clock {
  nowMs(): number { // A
    return Date.now();
  }
  monotonicMs(): number { // A
    return performance.now();
  }
  sleep(ms: number): Promise<void> { // A
    return new Promise((resolve) => setTimeout(resolve, ms));
  }
}

interface Sleeper {
  wakeAtMs: number;
  order: number;
  resolve: () => void;
}

/** A clock that only moves when told to; sleepers wake in (time, arrival) order. */
export class VirtualClock implements Clock {
  private wallMs: number;
  private monoMs = 0;
  private sleepers: Sleeper[] = [];
  private order = 0;

  constructor(startWallMs = 1_700_000_000_000) { // A
    this.wallMs = startWallMs;
  }
  nowMs(): number { // A
    return this.wallMs;
  }
  monotonicMs(): number { // A
    return this.monoMs;
  }
  sleep(ms: number): Promise<void> { // A
    return new Promise((resolve) => {
      this.sleepers.push({ wakeAtMs: this.monoMs + Math.max(0, ms), order: this.order++, resolve });
    });
  }
  /** Moves both clocks forward and wakes every sleeper that is due. */
  advance(ms: number): void { // A
    this.monoMs += ms;
    this.wallMs += ms;
    const due = this.sleepers.filter((s) => s.wakeAtMs <= this.monoMs);
    this.sleepers = this.sleepers.filter((s) => s.wakeAtMs > this.monoMs);
    due.sort((a, b) => a.wakeAtMs - b.wakeAtMs || a.order - b.order);
    for (const s of due) s.resolve();
  }
  /** Sets the wall clock only (clock skew, jumps backwards); monotonic time is unaffected. */
  setWallMs(ms: number): void { // A
    this.wallMs = ms;
  }
}
