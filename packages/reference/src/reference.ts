import { type Digest, type DigestLike, parseDigest, toDigest } from "@store/digest";
import { ImageReferenceError, ReferenceErrorCode } from "./errors";
import { globMatch } from "./glob-match";

// distribution/reference's grammar (regexp.go), as JavaScript regular expressions.
const alphanumeric = "[a-z0-9]+";
const separator = "(?:[._]|__|[-]+)";
const pathComponent = `${alphanumeric}(?:${separator}${alphanumeric})*`;
const remoteName = `${pathComponent}(?:/${pathComponent})*`;
const domainNameComponent = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
const domainName = `${domainNameComponent}(?:\\.${domainNameComponent})*`;
const ipv6address = "\\[(?:[a-fA-F0-9:]+)\\]";
const domainAndPort = `(?:${domainName}|${ipv6address})(?::[0-9]+)?`;
const tagPat = "[\\w][\\w.-]{0,127}";
const digestPat = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9A-Fa-f]{32,}";
const namePat = `(?:${domainAndPort}/)?${remoteName}`;

const referenceRegexp = new RegExp(`^(${namePat})(?::(${tagPat}))?(?:@(${digestPat}))?$`);
const anchoredNameRegexp = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
const anchoredIdentifierRegexp = /^[a-f0-9]{64}$/;
// What repositories.json holds for nearly every tag: a Docker Hub name in familiar form with a
// tag (`app:1`, `team/app:v2`). See parseNormalizedNamed.
const hubTaggedRegexp = new RegExp(`^(${pathComponent}(?:/${pathComponent})*):(${tagPat})$`);

/** The longest repository path distribution/reference accepts. */
const repositoryNameTotalLengthMax = 255;
// No valid reference comes near this; refusing longer input keeps the regular expressions cheap.
const inputLengthMax = 4096;

const defaultDomain = "docker.io";
const legacyDefaultDomain = "index.docker.io";
const officialRepoPrefix = "library/";
/** The tag a name without tag or digest stands for. */
export const defaultTag = "latest";

/**
 * A named image reference (distribution/reference Named): a repository name with an optional
 * tag and/or digest, normalised (`busybox` is `docker.io/library/busybox`). Build one with
 * {@link parseNormalizedNamed}.
 */
export class NamedReference {
  /** The registry host (with port), e.g. `docker.io`, `localhost:5000`. */
  readonly domain: string;
  /** The repository path, e.g. `library/busybox`. */
  readonly path: string;
  readonly tag: string | undefined;
  readonly digest: Digest | undefined;
  // Built on first use and kept: listing asks every reference for them, sorting more than once.
  #familiar: string | undefined;
  #string: string | undefined;

  /** @internal `familiar`, when the caller has it already, is kept as is (see parseNormalizedNamed). */
  constructor(domain: string, path: string, tag?: string, digest?: Digest, familiar?: string) {
    this.domain = domain;
    this.path = path;
    this.tag = tag;
    this.digest = digest;
    this.#familiar = familiar;
  }

  /** The full repository name, e.g. `docker.io/library/busybox`. */
  get name(): string {
    return this.domain === "" ? this.path : `${this.domain}/${this.path}`;
  }

  /** The name as docker shows it: `busybox`, `user/app`, `localhost:5000/a/b`. */
  get familiarName(): string {
    if (this.domain !== defaultDomain) return this.name;
    if (this.path.startsWith(officialRepoPrefix)) {
      const rest = this.path.slice(officialRepoPrefix.length);
      if (!rest.includes("/")) return rest;
    }
    return this.path;
  }

  /** The whole reference as docker shows it (`busybox:latest`); what repositories.json stores. */
  get familiar(): string {
    return (this.#familiar ??= this.#suffixed(this.familiarName));
  }

  /** Whether the reference carries a tag (moby NamedTagged). */
  get isTagged(): boolean {
    return this.tag !== undefined;
  }

  /** Whether the reference carries a digest (moby Canonical). */
  get isCanonical(): boolean {
    return this.digest !== undefined;
  }

  /** The full reference, e.g. `docker.io/library/busybox:latest`. */
  toString(): string {
    return (this.#string ??= this.#suffixed(this.name));
  }

  toJSON(): string {
    return this.toString();
  }

  #suffixed(name: string): string {
    return `${name}${this.tag !== undefined ? `:${this.tag}` : ""}${this.digest ? `@${this.digest}` : ""}`;
  }
}

/** A bare content digest given where a reference was expected (moby digestReference). */
export interface DigestReference {
  readonly digest: Digest;
}

function invalid(input: string, reason: string, cause?: unknown): ImageReferenceError {
  return new ImageReferenceError(ReferenceErrorCode.Invalid, `invalid reference format: ${JSON.stringify(input)}: ${reason}`, {
    cause,
    details: { reference: input, reason },
  });
}

/**
 * distribution/reference Parse: a reference exactly as written (no normalisation). Throws
 * ERR_REFERENCE_INVALID naming the input.
 */
export function parseReference(input: string, original = input): NamedReference {
  if (typeof input !== "string" || input === "") throw invalid(original, "repository name must have at least one component");
  if (input.length > inputLengthMax) throw invalid(original.slice(0, 100), `longer than ${inputLengthMax} characters`);
  const m = referenceRegexp.exec(input);
  if (!m) {
    const lower = input.toLowerCase();
    if (lower !== input && referenceRegexp.test(lower)) throw invalid(original, "repository name must be lowercase");
    throw invalid(original, "invalid reference format");
  }
  const [, name, tag, digestText] = m as unknown as [string, string, string | undefined, string | undefined];
  const nm = anchoredNameRegexp.exec(name);
  const domain = nm?.[1] ?? "";
  const path = nm?.[2] ?? name;
  if (path.length > repositoryNameTotalLengthMax) {
    throw invalid(original, `repository name must not be more than ${repositoryNameTotalLengthMax} characters`);
  }
  let digest: Digest | undefined;
  if (digestText !== undefined) {
    try {
      digest = parseDigest(digestText);
    } catch (e) {
      throw invalid(original, (e as Error).message, e);
    }
  }
  return new NamedReference(domain, path, tag, digest);
}

// distribution/reference splitDockerDomain: the part before the first "/" is a registry when it
// has a "." or ":", is "localhost", or has uppercase letters; else the name is on Docker Hub.
function splitDockerDomain(name: string): [string, string] {
  const slash = name.indexOf("/");
  let domain: string;
  let remainder: string;
  if (slash < 0) return [defaultDomain, officialRepoPrefix + name];
  const maybe = name.slice(0, slash);
  if (maybe === "localhost" || maybe === legacyDefaultDomain || /[.:]/.test(maybe) || maybe.toLowerCase() !== maybe) {
    domain = maybe === legacyDefaultDomain ? defaultDomain : maybe;
    remainder = name.slice(slash + 1);
  } else {
    domain = defaultDomain;
    remainder = name;
  }
  if (domain === defaultDomain && !remainder.includes("/")) remainder = officialRepoPrefix + remainder;
  return [domain, remainder];
}

/**
 * distribution/reference ParseNormalizedNamed: parses a name as docker's UI takes it
 * (`busybox`, `user/app:1`, `localhost:5000/a/b@sha256:…`) into its normalised form. A 64-hex
 * string is refused: it would be an image ID, not a name.
 */
export function parseNormalizedNamed(input: string): NamedReference {
  // One match instead of the five below for the familiar form of a tagged Docker Hub name, which
  // is what they would parse it to when its first component is not a registry (no "." and not
  // "localhost"; ":" and uppercase cannot occur). Opening a store parses every tag it holds.
  const m = typeof input === "string" && input.length <= inputLengthMax ? hubTaggedRegexp.exec(input) : null;
  if (m) {
    const name = m[1]!;
    const slash = name.indexOf("/");
    const first = slash < 0 ? "" : name.slice(0, slash);
    if (!first.includes(".") && first !== "localhost") {
      const path = slash < 0 ? officialRepoPrefix + name : name;
      // The input is its own familiar form unless it spells out `library/` (which familiar drops).
      const familiar = first === "library" && slash === name.lastIndexOf("/") ? undefined : input;
      if (path.length <= repositoryNameTotalLengthMax) return new NamedReference(defaultDomain, path, m[2], undefined, familiar);
    }
  }
  return parseNormalizedNamedFully(input);
}

/** {@link parseNormalizedNamed} without its fast path (exported for the test that compares them). */
export function parseNormalizedNamedFully(input: string): NamedReference {
  if (typeof input === "string" && anchoredIdentifierRegexp.test(input)) {
    throw invalid(input, `invalid repository name (${input}), cannot specify 64-byte hexadecimal strings`);
  }
  if (typeof input !== "string" || input === "") throw invalid(String(input), "repository name must have at least one component");
  const [domain, remainder] = splitDockerDomain(input);
  const colon = remainder.indexOf(":");
  const remote = colon >= 0 ? remainder.slice(0, colon) : remainder;
  if (remote.toLowerCase() !== remote) throw invalid(input, `repository name (${remote}) must be lowercase`);
  return parseReference(`${domain}/${remainder}`, input);
}

/**
 * distribution/reference ParseAnyReference: a 64-hex image ID (read as sha256), a full digest,
 * or a normalised name.
 */
export function parseAnyReference(input: string): NamedReference | DigestReference {
  if (anchoredIdentifierRegexp.test(input)) return { digest: parseDigest(`sha256:${input}`) };
  if (/^[a-z0-9]+(?:[+._-][a-z0-9]+)*:/.test(input)) {
    try {
      return { digest: parseDigest(input) };
    } catch {
      // not a digest: a name with a tag, then
    }
  }
  return parseNormalizedNamed(input);
}

export function isNamedReference(ref: NamedReference | DigestReference): ref is NamedReference {
  return ref instanceof NamedReference;
}

/** The reference with `:latest` added when it has neither tag nor digest (moby TagNameOnly). */
export function tagNameOnly(ref: NamedReference): NamedReference {
  return ref.tag === undefined && ref.digest === undefined ? new NamedReference(ref.domain, ref.path, defaultTag) : ref;
}

/** The reference with a digest (keeping any tag). */
export function withDigest(ref: NamedReference, digest: DigestLike): NamedReference {
  return new NamedReference(ref.domain, ref.path, ref.tag, toDigest(digest));
}

/** Only the repository name: no tag, no digest (moby TrimNamed). */
export function trimNamed(ref: NamedReference): NamedReference {
  return new NamedReference(ref.domain, ref.path);
}

/**
 * distribution/reference FamiliarMatch, the `reference` filter of `docker images`: Go's
 * path.Match of `pattern` against the familiar string, else against the familiar name.
 * Throws ERR_REFERENCE_INVALID_PATTERN for a malformed pattern.
 */
export function familiarMatch(pattern: string, ref: NamedReference): boolean {
  return globMatch(pattern, ref.familiar) || globMatch(pattern, ref.familiarName);
}
