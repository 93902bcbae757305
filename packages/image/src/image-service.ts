import type { Digest } from "@store/digest";
import type { Image } from "./image";
import { type DeleteResponse, type PruneOptions, type PruneReport, type RemoveOptions, pruneImages, removeImage } from "./image-delete";
import { type HistoryItem, type ImageInspect, imageHistory, inspectImage, newInspectCache } from "./image-inspect";
import { type ImageSummary, type ListOptions, listImages } from "./image-list";
import type { ImageStore } from "./image-store";
import { type NamedReference, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { type ReferenceStore, ImageReferenceError, ReferenceErrorCode } from "@store/reference";
import { type ContainerInfo, type ServiceContext, resolveImageId } from "./resolve-image";

export interface ImageServiceOptions {
  images: ImageStore;
  references: ReferenceStore;
  /** The graph driver's name shown by inspect (default "overlay2"). */
  driverName?: string;
  /** The containers, if the caller has any (default none). */
  containers?: () => Iterable<ContainerInfo>;
}

/**
 * The image endpoints of the Engine API over an image store and a reference store: what
 * `docker images`, `inspect`, `history`, `rmi`, `image prune` and `tag` do, shaped like the API.
 */
export interface ImageService {
  readonly images: ImageStore;
  readonly references: ReferenceStore;
  /** The image ID an ID, ID prefix or reference names (moby GetImage). */
  resolve(refOrId: string): Digest;
  getImage(refOrId: string): Promise<Image>;
  list(options?: ListOptions): ImageSummary[];
  inspect(refOrId: string): Promise<ImageInspect>;
  history(refOrId: string): Promise<HistoryItem[]>;
  remove(refOrId: string, options?: RemoveOptions): Promise<DeleteResponse[]>;
  prune(options?: PruneOptions): Promise<PruneReport>;
  /** `docker tag`: points `target` (a name alone means `:latest`) at the image, moving it if needed. */
  tag(refOrId: string, target: string | NamedReference): Promise<NamedReference>;
}

export function createImageService(options: ImageServiceOptions): ImageService {
  const ctx: ServiceContext = {
    images: options.images,
    references: options.references,
    driverName: options.driverName ?? "overlay2",
    containers: options.containers ?? (() => []),
    inspectCache: newInspectCache(),
  };
  return {
    images: ctx.images,
    references: ctx.references,
    resolve: (refOrId) => resolveImageId(ctx, refOrId),
    getImage: (refOrId) => ctx.images.get(resolveImageId(ctx, refOrId)),
    list: (opts) => listImages(ctx, opts),
    inspect: (refOrId) => inspectImage(ctx, refOrId),
    history: (refOrId) => imageHistory(ctx, refOrId),
    remove: (refOrId, opts) => removeImage(ctx, refOrId, opts),
    prune: (opts) => pruneImages(ctx, opts),
    async tag(refOrId, target) {
      const id = resolveImageId(ctx, refOrId);
      const ref = typeof target === "string" ? parseNormalizedNamed(target) : target;
      if (ref.isCanonical) {
        throw new ImageReferenceError(ReferenceErrorCode.Invalid, `refusing to create a tag with a digest reference: ${ref.familiar}`, {
          details: { reference: ref.familiar },
        });
      }
      const tagged = tagNameOnly(ref);
      // The config read back and verified against its ID first: the record listing shows may
      // come from the record cache, and a tag must never point at a config that was changed.
      await ctx.images.get(id);
      // docker tag always moves an existing tag (moby TagImage passes force).
      await ctx.references.add(tagged, id, true);
      await ctx.images.setLastUpdated(id);
      return tagged;
    },
  };
}
