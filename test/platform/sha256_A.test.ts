/**
 * SHA-256 through the platform seam: the FIPS 180-4 example vectors on both
 * implementations (one-shot and incremental), and fast-check proof that the
 * native node:crypto path and the @noble/hashes fallback give identical
 * digests for random inputs and random split points. Runs on Node, Bun, Deno.
 */
import fc from "fast-check";
import { afterEach, describe, expect, test } from "vitest";
import { AssertionFailedError, InvalidArgumentError } from "../../src/errors.ts";
import {
  bytesToHex,
  createSha256,
  nativeSha256Available,
  type Sha256Implementation,
  sha256,
  sha256Hex,
  sha256Implementation,
  useSha256Implementation,
} from "../../src/platform/sha256.ts";

const IMPLS: Sha256Implementation[] = ["native", "noble"];
const ascii = (s: string): Uint8Array => new TextEncoder().encode(s);

/** FIPS 180-4 / NIST CSRC example messages and their digests. */
const VECTORS: ReadonlyArray<[string, () => Uint8Array, string]> = [
  ["empty", () => new Uint8Array(0), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"],
  ["abc", () => ascii("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"],
  [
    "448-bit message",
    () => ascii("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
  ],
  [
    "896-bit message",
    () => ascii("abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu"),
    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1",
  ],
  ["one million 'a'", () => new Uint8Array(1_000_000).fill(0x61), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"],
];

/** Hashes `data` incrementally, cut at the given (sorted, in-range) points. */
function pieces(impl: Sha256Implementation, data: Uint8Array, cuts: number[]): Uint8Array {
  const h = createSha256(impl);
  let at = 0;
  for (const cut of cuts) {
    h.update(data.subarray(at, cut));
    at = cut;
  }
  h.update(data.subarray(at));
  return h.digest();
}

afterEach(() => useSha256Implementation("auto"));

describe("SHA-256 known answers", () => {
  test("node:crypto is detected on this runtime (Node, Bun and Deno all have it)", () => {
    expect(nativeSha256Available()).toBe(true);
    expect(sha256Implementation()).toBe("native");
  });

  for (const impl of IMPLS) {
    for (const [name, make, hex] of VECTORS) {
      test(`${impl}: ${name}`, () => {
        const data = make();
        expect(sha256Hex(data, impl)).toBe(hex);
        expect(bytesToHex(sha256(data, impl))).toBe(hex);
        // Incremental: the message in 1000-byte pieces (several for the long one), plus empty updates.
        const cuts: number[] = [];
        for (let c = 0; c < data.length; c += 1000) cuts.push(c);
        expect(bytesToHex(pieces(impl, data, cuts))).toBe(hex);
      });
    }
  }

  test("digests are plain 32-byte Uint8Arrays of their own, not pooled Buffers", () => {
    for (const impl of IMPLS) {
      const one = sha256(ascii("abc"), impl);
      const inc = createSha256(impl).update(ascii("abc")).digest();
      for (const d of [one, inc]) {
        expect(Object.getPrototypeOf(d)).toBe(Uint8Array.prototype);
        expect(d.length).toBe(32);
        expect(d.byteOffset).toBe(0);
        expect(d.buffer.byteLength).toBe(32);
      }
    }
  });
});

describe("native and fallback agree", () => {
  test("one-shot digests agree on random inputs", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 4096 }), (data) => {
        expect(bytesToHex(sha256(data, "native"))).toBe(bytesToHex(sha256(data, "noble")));
      }),
      { numRuns: 300 },
    );
  });

  test("incremental digests at random split points equal the one-shot digest", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 3000 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        (data, rawCuts) => {
          const cuts = rawCuts.map((c) => c % (data.length + 1)).sort((a, b) => a - b);
          const want = bytesToHex(sha256(data, "noble"));
          expect(bytesToHex(pieces("native", data, cuts))).toBe(want);
          expect(bytesToHex(pieces("noble", data, cuts))).toBe(want);
        },
      ),
      { numRuns: 300 },
    );
  });

  test("inputs around the 64-byte block and 56-byte padding boundaries", () => {
    const data = new Uint8Array(200);
    for (let i = 0; i < data.length; i++) data[i] = (i * 131 + 7) & 0xff;
    for (let n = 0; n <= 200; n++) {
      const part = data.subarray(0, n);
      expect(sha256Hex(part, "native")).toBe(sha256Hex(part, "noble"));
    }
  });

  test("subarray views hash only their own bytes", () => {
    const big = ascii("xxabcyy");
    const view = big.subarray(2, 5);
    for (const impl of IMPLS) expect(sha256Hex(view, impl)).toBe(VECTORS[1]![2]);
  });
});

describe("choosing the implementation", () => {
  test("forcing the fallback changes the default for every entry point, auto restores native", () => {
    useSha256Implementation("noble");
    expect(sha256Implementation()).toBe("noble");
    expect(createSha256().implementation).toBe("noble");
    expect(sha256Hex(ascii("abc"))).toBe(VECTORS[1]![2]);
    useSha256Implementation("auto");
    expect(sha256Implementation()).toBe("native");
    expect(createSha256().implementation).toBe("native");
  });

  test("an unknown implementation is refused and changes nothing", () => {
    expect(() => useSha256Implementation("md5" as Sha256Implementation)).toThrow(InvalidArgumentError);
    expect(sha256Implementation()).toBe("native");
    expect(() => sha256(new Uint8Array(1), "md5" as Sha256Implementation)).toThrow(InvalidArgumentError);
  });

  test("a hasher refuses use after digest() on both implementations", () => {
    for (const impl of IMPLS) {
      const h = createSha256(impl);
      h.update(ascii("a"));
      h.digest();
      expect(() => h.update(ascii("b"))).toThrow(AssertionFailedError);
      expect(() => h.digest()).toThrow(AssertionFailedError);
    }
  });
});
