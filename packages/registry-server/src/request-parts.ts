import { type Digest, parseDigest } from "@store/digest";
import { parseReference } from "@store/reference";
import { ProtocolError } from "./protocol-error";

/** distribution's limit on a repository name (reference.NameTotalLengthMax). */
const maxNameLength = 255;
// What a registry path's name may hold: the spec's grammar is lowercase path components, which
// docker's reference grammar below checks; it also allows a registry host with a port or
// uppercase letters in front, which a name inside a registry never has.
const pathCharacters = /^[a-z0-9._/-]+$/;

/**
 * The repository name of a request path, checked against the distribution spec's grammar
 * (`[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/…)*`, at most 255 characters); NAME_INVALID otherwise.
 * Percent-encoding is not decoded: `%2e%2e` is refused like any other character outside it, so
 * no form of `..` reaches the content.
 */
export function repositoryName(raw: string): string {
  const invalid = () =>
    new ProtocolError("NAME_INVALID", { message: "invalid repository name", detail: { name: raw.length > 300 ? `${raw.slice(0, 300)}…` : raw } });
  if (raw.length > maxNameLength || !pathCharacters.test(raw)) throw invalid();
  let parsed: ReturnType<typeof parseReference>;
  try {
    parsed = parseReference(raw);
  } catch {
    throw invalid();
  }
  if (parsed.tag !== undefined || parsed.digest !== undefined) throw invalid();
  return raw;
}

/** The percent-decoded path segment, or the raw one when it does not decode. */
function decodeSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    return raw;
  }
}

/** Whether a manifest reference is a digest (it has the `:` no tag can have). */
export function isDigestReference(raw: string): boolean {
  return decodeSegment(raw).includes(":");
}

/** A digest from a path segment (clients may percent-encode its `:`); DIGEST_INVALID otherwise. */
export function pathDigest(raw: string): Digest {
  const text = decodeSegment(raw);
  try {
    return parseDigest(text);
  } catch (cause) {
    throw new ProtocolError("DIGEST_INVALID", { message: "invalid digest", detail: { digest: text.slice(0, 300) }, cause });
  }
}

/** A tag from a path segment, checked against docker's tag grammar (`[\w][\w.-]{0,127}`); TAG_INVALID otherwise. */
export function pathTag(name: string, raw: string): string {
  const tag = decodeSegment(raw);
  try {
    if (parseReference(`${name}:${tag}`).tag === tag) return tag;
  } catch {
    // Refused below, with the registry's code.
  }
  throw new ProtocolError("TAG_INVALID", { message: "invalid tag", detail: { tag: tag.slice(0, 300) } });
}
