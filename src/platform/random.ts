/**
 * Randomness enters the code base only here. `SeededRandom` (xoshiro128**,
 * state expanded from the seed with splitmix32) makes every random choice of
 * a test or a simulation replayable from one number; `systemRandom()` seeds
 * it from the runtime's cryptographic source for production use.
 */
import { randomFillSync } from "node:crypto";

export interface Random {
  /** Uniform 32-bit unsigned integer. */
  nextU32(): number;
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Fills `out` with random bytes and returns it. */
  bytes(out: Uint8Array): Uint8Array;
}

function splitmix32(state: number): [number, number] { // A
  const s = (state + 0x9e3779b9) >>> 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
  return [s, (z ^ (z >>> 16)) >>> 0];
}

export class SeededRandom implements Random {
  readonly seed: number;
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) { // A
    this.seed = seed >>> 0;
    let s = this.seed;
    let out: number;
    [s, out] = splitmix32(s); this.a = out;
    [s, out] = splitmix32(s); this.b = out;
    [s, out] = splitmix32(s); this.c = out;
    [s, out] = splitmix32(s); this.d = out;
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  nextU32(): number { // A
    const result = Math.imul(rotl(Math.imul(this.b, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.b << 9) >>> 0;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    this.a >>>= 0; this.b >>>= 0; this.c >>>= 0; this.d >>>= 0;
    return result;
  }

  next(): number { // A
    return this.nextU32() / 4294967296;
  }

  int(n: number): number { // A
    if (!(n > 0)) return 0;
    if (n <= 4294967296) return Math.floor(this.next() * n);
    return Math.floor((this.nextU32() * 4294967296 + this.nextU32()) / 18446744073709551616 * n);
  }

  bytes(out: Uint8Array): Uint8Array { // A
    for (let i = 0; i < out.length; i += 4) {
      let v = this.nextU32();
      for (let j = i; j < Math.min(i + 4, out.length); j++) {
        out[j] = v & 0xff;
        v >>>= 8;
      }
    }
    return out;
  }

  /** A new generator derived from this one (independent stream, still replayable). */
  fork(): SeededRandom { // A
    return new SeededRandom(this.nextU32());
  }
}

function rotl(x: number, k: number): number { // A
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** A seed drawn from the runtime's cryptographic random source. */
export function cryptoSeed(): number { // A
  const b = new Uint32Array(1);
  randomFillSync(b);
  return b[0]!;
}

/** A generator for production use: fast, seeded once from crypto. */
export function systemRandom(): SeededRandom { // A
  return new SeededRandom(cryptoSeed());
}
