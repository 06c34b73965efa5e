/**
 * SHA-256 through the platform seam. Version ids and value hashes are
 * SHA-256 (issue 5), so hashing sits on every versioned write and every
 * verified read; it must be fast where the runtime can make it fast and
 * byte-identical everywhere.
 *
 * Two implementations, one contract (FIPS 180-4 SHA-256, 32-byte digest):
 * - "native": the runtime's `node:crypto` (OpenSSL in Node, BoringSSL in Bun,
 *   Rust in Deno). Node, Bun and Deno all provide it; the one-shot call uses
 *   `crypto.hash` where present (Node >= 20.12, Bun, Deno: no Hash object per
 *   call) and `createHash` otherwise.
 * - "noble": `@noble/hashes` in pure JS, for a runtime without `node:crypto`
 *   (a browser bundle that stubs it) and to prove in tests that both agree.
 *
 * Detection: `node:crypto` is imported statically as a namespace, the same
 * way random.ts and node-lock.ts import it (no top-level await, no dynamic
 * import). A namespace import of a stub that lacks `createHash` still links;
 * the missing function is seen at run time and the fallback is chosen.
 * `useSha256Implementation("noble")` forces the fallback process-wide, and
 * every entry point takes an optional implementation for a single call.
 *
 * Cost sketch (bench/hash.ts on this 2-core VM): native ~1.8 GB/s on 1 MiB
 * on all three runtimes; per 1 KiB call 1.3 us (Node), 0.75 us (Bun), 3.3 us
 * (Deno). noble 150-220 MB/s on 1 MiB, ~6-8 us per 1 KiB call. A versioned
 * put hashes its value and its ~100-byte record: native uses a small share
 * of the 10 us/op budget of 100k puts/s, noble most of it, so the fallback
 * is for runtimes that need it, not a default.
 */
import * as nodeCrypto from "node:crypto";
import { sha256 as nobleSha256 } from "@noble/hashes/sha2.js";
import { assert, InvalidArgumentError } from "../errors.ts";
import { toHex } from "../encoding/bytes.ts";

/** Which code computes the digest. */
export type Sha256Implementation = "native" | "noble";

/** Length of a SHA-256 digest in bytes. */
export const SHA256_BYTES = 32;

/** An incremental SHA-256: feed a large value in pieces, then take the digest once. */
export interface Sha256 {
  /** Which implementation this hasher runs on. */
  readonly implementation: Sha256Implementation;
  /** Appends bytes to the message; returns this hasher for chaining. */
  update(bytes: Uint8Array): Sha256;
  /** The 32-byte digest of everything fed so far; the hasher cannot be used afterwards. */
  digest(): Uint8Array;
}

/** The subset of node:crypto's Hash object used here. */
interface NodeHash {
  update(data: Uint8Array): unknown;
  digest(): Uint8Array;
}
type CreateHashFn = (algorithm: string) => NodeHash;
type OneShotHashFn = (algorithm: string, data: Uint8Array, outputEncoding: "buffer") => Uint8Array;

/** Looked up at run time so a stub node:crypto without these functions still loads. */
const nodeCryptoFns = nodeCrypto as unknown as { createHash?: unknown; hash?: unknown };
const createHashFn: CreateHashFn | undefined =
  typeof nodeCryptoFns.createHash === "function" ? (nodeCryptoFns.createHash as CreateHashFn) : undefined;
const oneShotHashFn: OneShotHashFn | undefined =
  typeof nodeCryptoFns.hash === "function" ? (nodeCryptoFns.hash as OneShotHashFn) : undefined;

/** True when the runtime provides node:crypto's createHash. */
export function nativeSha256Available(): boolean { // A
  return createHashFn !== undefined;
}

let defaultImplementation: Sha256Implementation = nativeSha256Available() ? "native" : "noble";

/** The implementation used when a call does not name one. */
export function sha256Implementation(): Sha256Implementation { // A
  return defaultImplementation;
}

/**
 * Sets the process-wide default: "auto" picks native when available. Asking
 * for "native" on a runtime without it fails and changes nothing.
 */
export function useSha256Implementation(choice: Sha256Implementation | "auto"): void { // A
  if (choice === "auto") {
    defaultImplementation = nativeSha256Available() ? "native" : "noble";
    return;
  }
  checkImplementation(choice);
  defaultImplementation = choice;
}

function checkImplementation(impl: Sha256Implementation): void { // A
  if (impl === "noble") return;
  if (impl !== "native") throw new InvalidArgumentError(`unknown SHA-256 implementation ${String(impl)}; use "native" or "noble"`);
  if (!nativeSha256Available()) {
    throw new InvalidArgumentError('SHA-256 implementation "native" needs node:crypto, which this runtime lacks; use "noble"');
  }
}

/** Copies a (possibly pooled) Buffer into a plain Uint8Array of its own. */
function plainDigest(d: Uint8Array): Uint8Array { // PA
  assert(d.length === SHA256_BYTES, `SHA-256 digest of ${d.length} bytes`);
  const out = new Uint8Array(SHA256_BYTES);
  out.set(d);
  return out;
}

/** The 32-byte SHA-256 digest of `data`. */
export function sha256(data: Uint8Array, impl: Sha256Implementation = defaultImplementation): Uint8Array { // PA
  if (impl === "noble") return nobleSha256(data);
  checkImplementation(impl);
  if (oneShotHashFn !== undefined) return plainDigest(oneShotHashFn("sha256", data, "buffer"));
  const h = createHashFn!("sha256");
  h.update(data);
  return plainDigest(h.digest());
}

/** Lowercase hex of bytes (64 characters for a digest). */
export const bytesToHex: (bytes: Uint8Array) => string = toHex;

/** The SHA-256 digest of `data` as 64 lowercase hex characters (the form of version ids). */
export function sha256Hex(data: Uint8Array, impl: Sha256Implementation = defaultImplementation): string { // PA
  return bytesToHex(sha256(data, impl));
}

/** A fresh incremental hasher. */
export function createSha256(impl: Sha256Implementation = defaultImplementation): Sha256 { // PA
  checkImplementation(impl);
  return new IncrementalSha256(impl, impl === "native" ? createHashFn!("sha256") : nobleSha256.create());
}

/** Refuses use after digest(): node:crypto and noble would fail differently, this fails the same way. */
function checkOpen(finished: boolean): void { // A
  assert(!finished, "SHA-256 hasher used after digest()");
}

/** An incremental hasher over either implementation; refuses use after digest() the same way for both. */
class IncrementalSha256 implements Sha256 {
  private finished = false;
  constructor( // A
    readonly implementation: Sha256Implementation,
    private readonly h: { update(bytes: Uint8Array): unknown; digest(): Uint8Array },
  ) {}
  update(bytes: Uint8Array): Sha256 { // PA
    checkOpen(this.finished);
    this.h.update(bytes);
    return this;
  }
  digest(): Uint8Array { // PA
    checkOpen(this.finished);
    this.finished = true;
    return plainDigest(this.h.digest());
  }
}
