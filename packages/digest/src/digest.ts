import { type Algorithm, algorithms, encodedLength, isAlgorithm } from "./algorithm";
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
    // Keeps `hex` itself as the encoded part: a store walks thousands of file names through here.
    if (isAlgorithm(algorithm) && isLowerHexOf(hex, encodedLength(algorithm))) return new Digest(token, algorithm, hex);
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

  /**
   * How `console.log` and `util.inspect` show it: the fields alone (`_Digest { algorithm, encoded }`,
   * with the bundler's class name) hide the one form users type and compare. `Symbol.for` keeps
   * node:util out of a package that also runs without Node.
   */
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return `Digest<${this.#text}>`;
  }
}

/** Builds a Digest from parts already known to be valid (hash output). */
export function trustedDigest(algorithm: Algorithm, encoded: string): Digest {
  return new Digest(token, algorithm, encoded);
}

/**
 * Whether `text` is exactly `length` lowercase hex characters. A loop over char codes: the
 * regular expressions below cost several times as much, and every digest a store opens with
 * (file names, parent links, tags) passes through here.
 */
function isLowerHexOf(text: string, length: number): boolean {
  return isLowerHexAt(text, 0, length);
}

/** Whether `text` is a registered algorithm, ":" and its lowercase hex, without building anything. */
function isValid(text: string): boolean {
  const colon = text.indexOf(":");
  if (colon < 0) return false;
  for (const algorithm of algorithms) {
    if (algorithm.length === colon && text.startsWith(algorithm)) return isLowerHexAt(text, colon + 1, encodedLength(algorithm));
  }
  return false;
}

/** Whether `text` from `start` to its end is exactly `length` lowercase hex characters. */
function isLowerHexAt(text: string, start: number, length: number): boolean {
  if (text.length - start !== length) return false;
  for (let i = start; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!((c >= 48 && c <= 57) || (c >= 97 && c <= 102))) return false;
  }
  return true;
}

/** The digest when `text` is a registered algorithm, ":" and its lowercase hex; else undefined. */
function parseValid(text: string): Digest | undefined {
  const colon = text.indexOf(":");
  if (colon < 0) return undefined;
  const algorithm = text.slice(0, colon);
  if (!isAlgorithm(algorithm)) return undefined;
  const encoded = text.slice(colon + 1);
  return isLowerHexOf(encoded, encodedLength(algorithm)) ? new Digest(token, algorithm, encoded) : undefined;
}

/** Parses and validates a digest string once, at the edge. */
export function parseDigest(text: string): Digest {
  // Valid input takes the fast path; anything else goes through the grammar below, which says
  // precisely what is wrong (a registered algorithm and lowercase hex satisfy every check there).
  if (typeof text === "string") {
    const valid = parseValid(text);
    if (valid) return valid;
  }
  if (typeof text !== "string") {
    throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest ${String(text)}: not a string`, {
      details: { input: text },
    });
  }
  const match = grammar.exec(text);
  if (!match) {
    throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest ${JSON.stringify(text)}: expected algorithm:encoded`, { details: { input: text } });
  }
  const [, algorithm, encoded] = match as unknown as [string, string, string];
  if (!isAlgorithm(algorithm)) {
    throw new DigestError(DigestErrorCode.UnsupportedAlgorithm, `invalid digest ${JSON.stringify(text)}: unsupported algorithm ${JSON.stringify(algorithm)}`, {
      details: { input: text, algorithm },
    });
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
    throw new DigestError(DigestErrorCode.InvalidFormat, `invalid digest ${JSON.stringify(text)}: ${algorithm} must be lowercase hex`, {
      details: { input: text, algorithm },
    });
  }
  return new Digest(token, algorithm, encoded);
}

/** True when `text` parses as a digest (never throws). */
export function isDigest(text: string): boolean {
  if (typeof text === "string" && isValid(text)) return true;
  try {
    parseDigest(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * What JavaScript callers hold for a digest: a parsed {@link Digest}, or its text
 * (`sha256:<hex>`). Public functions that take a digest accept either and parse it once, here.
 */
export type DigestLike = Digest | string;

/**
 * `value` as a {@link Digest}: a Digest is returned as it is, a string is parsed (throwing
 * `ERR_DIGEST_INVALID_FORMAT` and friends naming the input), anything else is refused with
 * `ERR_DIGEST_INVALID_FORMAT`.
 */
export function toDigest(value: DigestLike): Digest {
  if (value instanceof Digest) return value;
  // A Digest from another loaded copy of this package (ESM beside CJS) fails instanceof: take
  // its text, which parses back to an equal Digest.
  if (typeof value === "object" && value !== null && typeof (value as { encoded?: unknown }).encoded === "string") {
    return parseDigest(String(value));
  }
  return parseDigest(value as string);
}
