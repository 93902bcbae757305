import { type Algorithm, encodedLength, isAlgorithm } from "./algorithm";
import { DigestError, DigestErrorCode } from "./errors";

// The OCI image-spec grammar (descriptor.md):
//   digest    ::= algorithm ":" encoded
//   algorithm ::= algorithm-component (algorithm-separator algorithm-component)*
//   component ::= [a-z0-9]+ ; separator ::= [+._-] ; encoded ::= [a-zA-Z0-9=_-]+
const grammar = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;
// Every registered algorithm encodes as lowercase hex.
const lowerHex = /^[a-f0-9]+$/;

const token = Symbol("Digest.constructor");

/**
 * A validated content digest such as `sha256:2c26b4…`. Instances exist only through
 * {@link parseDigest} or the hashing functions, so code holding a `Digest` never re-checks it.
 */
export class Digest {
  readonly algorithm: Algorithm;
  /** The encoded part (lowercase hex for every registered algorithm). */
  readonly encoded: string;
  readonly #text: string;

  /** @internal Use {@link parseDigest} or {@link Digest.fromHex}. */
  constructor(key: symbol, algorithm: Algorithm, encoded: string) {
    if (key !== token) throw new TypeError("Digest: use parseDigest() or Digest.fromHex()");
    this.algorithm = algorithm;
    this.encoded = encoded;
    this.#text = `${algorithm}:${encoded}`;
  }

  /** Parses `algorithm:encoded`, throwing a {@link DigestError} that names the input. */
  static parse(text: string): Digest {
    return parseDigest(text);
  }

  /** Builds a digest from an algorithm and its hex, validating both. */
  static fromHex(algorithm: string, hex: string): Digest {
    return parseDigest(`${algorithm}:${hex}`);
  }

  /** Alias of {@link encoded}: dockerd's on-disk names use the hex alone. */
  get hex(): string {
    return this.encoded;
  }

  equals(other: Digest | string): boolean {
    return this.#text === (typeof other === "string" ? other : other.#text);
  }

  toString(): string {
    return this.#text;
  }

  toJSON(): string {
    return this.#text;
  }
}

/** Builds a Digest from parts already known to be valid (hash output). */
export function trustedDigest(algorithm: Algorithm, encoded: string): Digest {
  return new Digest(token, algorithm, encoded);
}

/** Parses and validates a digest string once, at the edge. */
export function parseDigest(text: string): Digest {
  if (typeof text !== "string") {
    throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest ${String(text)}: not a string`, {
      details: { input: text },
    });
  }
  const match = grammar.exec(text);
  if (!match) {
    throw new DigestError(
      DigestErrorCode.InvalidFormat,
      `invalid digest ${JSON.stringify(text)}: expected algorithm:encoded`,
      { details: { input: text } },
    );
  }
  const [, algorithm, encoded] = match as unknown as [string, string, string];
  if (!isAlgorithm(algorithm)) {
    throw new DigestError(
      DigestErrorCode.UnsupportedAlgorithm,
      `invalid digest ${JSON.stringify(text)}: unsupported algorithm ${JSON.stringify(algorithm)}`,
      { details: { input: text, algorithm } },
    );
  }
  const want = encodedLength(algorithm);
  if (encoded.length !== want) {
    throw new DigestError(
      DigestErrorCode.InvalidLength,
      `invalid digest ${JSON.stringify(text)}: ${algorithm} needs ${want} hex characters, got ${encoded.length}`,
      { details: { input: text, algorithm, length: encoded.length } },
    );
  }
  if (!lowerHex.test(encoded)) {
    throw new DigestError(
      DigestErrorCode.InvalidFormat,
      `invalid digest ${JSON.stringify(text)}: ${algorithm} must be lowercase hex`,
      { details: { input: text, algorithm } },
    );
  }
  return new Digest(token, algorithm, encoded);
}

/** True when `text` parses as a digest (never throws). */
export function isDigest(text: string): boolean {
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}
