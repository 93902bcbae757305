import { type Digest, digestFromBytes } from "@store/digest";
import { type ImageService, applyChanges, importConfig, nowGoTime } from "@store/image";
import { type NamedReference, ImageReferenceError, ReferenceErrorCode, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { progressReader } from "@store/internal";
import type { LayerStore } from "@store/layer";
import { abortable } from "./abortable";
import type { WorkOptions } from "./work-options";

export interface ImportOptions extends WorkOptions {
  /** `REPOSITORY[:TAG]` to tag the new image with (a name alone means `:latest`). */
  tag?: string | NamedReference;
  /** The image's comment (docker import `--message`); default "Imported from -". */
  message?: string;
  /** Dockerfile instructions applied to its run config (`--change`: CMD, ENV, LABEL…). */
  changes?: readonly string[];
  /** The source's size in bytes when known, for progress. */
  total?: number;
}

export interface ImportResult {
  id: Digest;
  /** The tag it got, if one was asked for. */
  tag?: NamedReference;
}

/** The tag an import is asked to create: `:latest` when none; a digest reference is refused. */
export function importTag(tag: string | NamedReference): NamedReference {
  const ref = tagNameOnly(typeof tag === "string" ? parseNormalizedNamed(tag) : tag);
  if (ref.isCanonical) {
    throw new ImageReferenceError(ReferenceErrorCode.Invalid, `refusing to create a tag with a digest reference: ${ref.familiar}`, {
      details: { reference: ref.familiar },
    });
  }
  return ref;
}

/**
 * `docker import` (moby daemon/images ImportImage): a tarball (plain, gzip or zstd) becomes a
 * one-layer image with the config dockerd writes, optionally tagged. The tag and the changes are
 * checked before a byte is read. Aborted or failed, nothing stays: a half-extracted layer is
 * removed, an image created for a tag that could not be set is deleted.
 */
export async function importImage(
  stores: { layers: LayerStore; service: ImageService },
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ImportOptions = {},
): Promise<ImportResult> {
  const { layers, service } = stores;
  const { signal, onProgress } = options;
  const ref = options.tag === undefined ? undefined : importTag(options.tag);
  const changes = options.changes ?? [];
  applyChanges({}, changes); // a bad change fails here, before any byte is read

  const counted = progressReader(abortable(source, signal), {
    status: "Importing",
    ...(options.total !== undefined ? { total: options.total } : {}),
    ...(onProgress ? { onProgress } : {}),
    ...(signal ? { signal } : {}),
  });
  const { layer } = await layers.register(counted, undefined, signal ? { signal } : {});
  try {
    signal?.throwIfAborted();
    const config = importConfig({ diffId: layer.diffId, comment: options.message || "Imported from -", changes, created: nowGoTime() });
    const isNew = !service.images.has(digestFromBytes(config));
    const id = await service.images.create(config);
    if (ref) {
      try {
        await service.tag(id.toString(), ref);
      } catch (e) {
        // Unless the tag landed after all (its write failed past the rename) and stays.
        if (isNew && service.references.references(id).length === 0) await service.images.delete(id).catch(() => undefined);
        throw e;
      }
    }
    return { id, ...(ref ? { tag: ref } : {}) };
  } finally {
    // The image holds its own handle on the layer now (or creation failed and nothing should).
    await layers.release(layer);
  }
}
