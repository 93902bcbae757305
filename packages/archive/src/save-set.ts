import type { Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type Image, ImageErrorCode } from "@store/image";
import { type NamedReference, isNamedReference, parseAnyReference, tagNameOnly } from "@store/reference";
import type { Layer } from "@store/layer";
import type { ArchiveStores } from "./archive-stores";
import { ArchiveError, ArchiveErrorCode } from "./errors";

/** One image to save: its config, the tags it is saved under, and a handle on its top layer. */
export interface SaveImage {
  id: Digest;
  image: Image;
  /** Tagged references, in the order they were named (moby's imageDescriptor.refs). */
  refs: NamedReference[];
  /** Held while saving so nothing deletes the layers underneath; released by the caller. */
  top: Layer;
}

function notFound(name: string, cause?: unknown): ArchiveError {
  return new ArchiveError(ArchiveErrorCode.ImageNotFound, `No such image: ${name}`, { cause, details: { image: name } });
}

/**
 * moby's parseNames: each name is an image ID (full, `sha256:`-prefixed or a short prefix), a
 * tag, a digest reference, or a repository name alone (every tag of it). Images come out in the
 * order first named, not in Go's random map order, so an archive is the same run after run.
 * On error every handle taken is released.
 */
export async function resolveSaveSet(names: readonly string[], stores: ArchiveStores): Promise<SaveImage[]> {
  const { images, layers, references } = stores;
  const out: SaveImage[] = [];
  const byId = new Map<string, SaveImage>();
  try {
    const add = async (id: Digest, ref: NamedReference | undefined, name: string) => {
      let entry = byId.get(id.toString());
      if (!entry) {
        let image: Image;
        try {
          image = await images.get(id);
        } catch (e) {
          if (isStoreError(e, ImageErrorCode.NotFound)) throw notFound(name, e);
          throw e;
        }
        if (image.os !== "linux") {
          throw new ArchiveError(ArchiveErrorCode.UnsupportedPlatform, `image ${id}: os ${JSON.stringify(image.os)} is not supported`, {
            details: { image: id.toString(), os: image.os },
          });
        }
        if (!image.chainId) {
          throw new ArchiveError(ArchiveErrorCode.EmptyImage, `image ${id} has no layers: empty export - not implemented`, {
            details: { image: id.toString() },
          });
        }
        const top = await layers.get(image.chainId);
        entry = { id, image, refs: [], top };
        byId.set(id.toString(), entry);
        out.push(entry);
      }
      if (!ref || ref.isCanonical) return;
      const tagged = tagNameOnly(ref);
      if (!entry.refs.some((r) => r.toString() === tagged.toString())) entry.refs.push(tagged);
    };
    const search = (name: string): Digest => {
      try {
        return images.search(name);
      } catch (e) {
        // An ID prefix that fits several images says so, as inspect, tag, rmi and history do.
        if (isStoreError(e, ImageErrorCode.Ambiguous)) throw e;
        throw notFound(name, e);
      }
    };

    for (const name of names) {
      let ref;
      try {
        ref = parseAnyReference(name);
      } catch (e) {
        throw new ArchiveError(ArchiveErrorCode.InvalidReference, `invalid reference: ${name}`, { cause: e, details: { reference: name } });
      }
      if (!isNamedReference(ref)) {
        await add(ref.digest, undefined, name);
        continue;
      }
      if (ref.familiarName === "sha256") {
        await add(search(name), undefined, name);
        continue;
      }
      if (!ref.isTagged && !ref.isCanonical) {
        const assocs = references.referencesByName(ref);
        for (const a of assocs) await add(a.id, a.ref, name);
        if (assocs.length === 0) await add(search(name), undefined, name);
        continue;
      }
      let id: Digest;
      try {
        id = references.get(ref);
      } catch (e) {
        throw notFound(name, e);
      }
      await add(id, ref, name);
    }
    return out;
  } catch (e) {
    for (const entry of out) await layers.release(entry.top).catch(() => undefined);
    throw e;
  }
}
