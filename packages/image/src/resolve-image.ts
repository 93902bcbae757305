import type { Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { ImageError, ImageErrorCode } from "./errors";
import type { InspectCache } from "./image-inspect";
import type { ImageStore } from "./image-store";
import { isNamedReference, parseAnyReference, tagNameOnly } from "@store/reference";
import { type ReferenceStore, ReferenceErrorCode } from "@store/reference";

/** A container as far as image deletion and listing care (moby's container view). */
export interface ContainerInfo {
  /** The container ID (docker shows its first 12 characters). */
  id: string;
  /** The image it was created from. */
  imageId: Digest;
  running: boolean;
}

/** What the image service works on. */
export interface ServiceContext {
  images: ImageStore;
  references: ReferenceStore;
  /** The graph driver's name, for inspect's GraphDriver.Name. */
  driverName: string;
  /** The containers, when there are any: deletion refuses images they use, listing counts them. */
  containers: () => Iterable<ContainerInfo>;
  /** Where inspect keeps its answers between calls (none: each call reads the config again). */
  inspectCache?: InspectCache;
}

/**
 * The image `refOrId` names, as moby's GetImage: a full ID or digest, a reference in the tag
 * store, else a hex prefix of an ID. "No such image: …" (ERR_IMAGE_NOT_FOUND) or, unlike moby
 * which says "No such image" there too, ERR_IMAGE_AMBIGUOUS for a prefix of several IDs.
 */
export function resolveImageId(ctx: ServiceContext, refOrId: string): Digest {
  const ref = parseAnyReference(refOrId);
  if (!isNamedReference(ref)) {
    if (ctx.images.has(ref.digest)) return ref.digest;
    throw notFound(ref.digest.toString());
  }
  try {
    const id = ctx.references.get(ref);
    if (ctx.images.has(id)) return id;
  } catch (e) {
    if (!isStoreError(e, ReferenceErrorCode.NotFound)) throw e;
  }
  try {
    return ctx.images.search(refOrId);
  } catch (e) {
    if (isStoreError(e, ImageErrorCode.Ambiguous)) throw e;
    throw notFound(tagNameOnly(ref).familiar, e);
  }
}

export function notFound(what: string, cause?: unknown): ImageError {
  return new ImageError(ImageErrorCode.NotFound, `No such image: ${what}`, { cause, details: { image: what } });
}

/** moby's stringid.TruncateID: the hex without algorithm, cut to 12. */
export function truncateId(id: string): string {
  const colon = id.indexOf(":");
  return (colon >= 0 ? id.slice(colon + 1) : id).slice(0, 12);
}
