import { type NamedReference, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { ServiceError, ServiceErrorCode } from "./errors";

/**
 * The reference `docker pull NAME` means: normalised (`busybox` → `docker.io/library/busybox`),
 * `:latest` when it names neither a tag nor a digest. Throws docker's "invalid reference format".
 */
export function pullReference(name: string): NamedReference {
  return tagNameOnly(parseNormalizedNamed(name));
}

/** The reference `docker push NAME[:TAG]` means: a tag (`:latest` by default), never a digest. */
export function pushReference(name: string): NamedReference {
  const ref = pullReference(name);
  if (ref.isCanonical) {
    throw new ServiceError(ServiceErrorCode.InvalidReference, `cannot push a digest reference: ${name}`, { details: { reference: name } });
  }
  return ref;
}

/** The repository `docker pull -a NAME` means: a name alone (docker: "tag can't be used with --all-tags/-a"). */
export function allTagsReference(name: string): NamedReference {
  const ref = parseNormalizedNamed(name);
  if (ref.isTagged || ref.isCanonical) {
    throw new ServiceError(ServiceErrorCode.InvalidReference, "tag can't be used with --all-tags/-a", { details: { reference: name } });
  }
  return ref;
}
