import { blake3 } from "@noble/hashes/blake3.js";
import { sha256, sha384, sha512 } from "@noble/hashes/sha2.js";
import { type Algorithm, Canonical } from "./algorithm";
import { type Digest, trustedDigest } from "./digest";

/**
 * Which hash code computes a digest. `node` uses node:crypto (OpenSSL, with the CPU's SHA
 * instructions: about 12× the pure-JS code here); `noble` is @noble/hashes in pure JS, for
 * runtimes without node:crypto and for blake3, which OpenSSL lacks. `auto` picks node when it can.
 */
export type HashImplementation = "auto" | "node" | "noble";

export interface HashOptions {
  implementation?: HashImplementation;
}

/** An incremental hash: feed chunks, then take the digest once. */
export interface Hasher {
  readonly algorithm: Algorithm;
  update(chunk: Uint8Array | string): this;
  /** Finishes the hash. A hasher cannot be updated after this. */
  digest(): Digest;
}

type NodeCrypto = typeof import("node:crypto");

// process.getBuiltinModule keeps node:crypto out of the static import graph, so this module
// still loads on runtimes that have no node:crypto (they take the noble path).
const nodeCrypto: NodeCrypto | undefined = (() => {
  const proc = (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process;
  try {
    return proc?.getBuiltinModule?.("node:crypto") as NodeCrypto | undefined;
  } catch {
    return undefined;
  }
})();

const nodeNames: Partial<Record<Algorithm, string>> = { sha256: "sha256", sha384: "sha384", sha512: "sha512" };
const nobleHashes = { sha256, sha384, sha512, blake3 } as const;
const encoder = new TextEncoder();

function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("hex");
}

/** Starts an incremental hash of `algorithm` (sha256 by default). */
export function createHasher(algorithm: Algorithm = Canonical, options: HashOptions = {}): Hasher {
  const implementation = options.implementation ?? "auto";
  const nodeName = nodeNames[algorithm];
  if (implementation !== "noble" && nodeCrypto && nodeName) {
    const hash = nodeCrypto.createHash(nodeName);
    return {
      algorithm,
      update(chunk) {
        hash.update(chunk);
        return this;
      },
      digest: () => trustedDigest(algorithm, hash.digest("hex")),
    };
  }
  if (implementation === "node") {
    throw new Error(`node:crypto cannot compute ${algorithm} on this runtime`);
  }
  const hash = nobleHashes[algorithm].create();
  return {
    algorithm,
    update(chunk) {
      hash.update(typeof chunk === "string" ? encoder.encode(chunk) : chunk);
      return this;
    },
    digest: () => trustedDigest(algorithm, toHex(hash.digest())),
  };
}
