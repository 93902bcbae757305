import type { StoreBackend } from "@store/backend";
import type { Digest } from "@store/digest";
import type { ImageStore } from "@store/image";
import type { ReferenceStore } from "@store/reference";
import { progressReader } from "@store/internal";
import type { LayerMetadataStore, LayerStore } from "@store/layer";
import { BackendErrorCode } from "@store/backend";
import { isStoreError } from "@store/errors";
import { layerUsers } from "./layer-users";
import { type Leftover, type LeftoverScope, findLeftovers } from "./root-leftovers";
import type { WorkOptions } from "./work-options";

/** One thing `verify` found damaged. */
export interface VerifyProblem {
  /** An image config, a layer, or something the image or layer store skipped when it was opened. */
  what: "config" | "layer" | "reference" | "image-store" | "layer-store" | "distribution";
  /** The config's image ID, the layer's chain ID or the image a reference points at, when known. */
  id?: string;
  /** The images it breaks. */
  images: Digest[];
  /** One line naming it, the images it concerns and what is wrong. */
  message: string;
}

export interface VerifyReport {
  /** Image configs checked. */
  configs: number;
  /** Layers rebuilt and checked. */
  layers: number;
  problems: VerifyProblem[];
  /**
   * What nothing references (leftover overlay2 dirs, distribution records naming no layer,
   * partial downloads), with its size: space to reclaim (`repair`), not damage.
   */
  reclaimable: Leftover[];
}

/** The first 12 hex characters of an ID, as docker shows it. */
function shortId(id: Digest): string {
  return id.encoded.slice(0, 12);
}

/**
 * Re-hashes every image config in the backend and rebuilds every layer's tar from tar-split and
 * the driver's files, checking it against its diffID; reports each damage with the images it
 * concerns. Progress: a "Verifying" bar per layer (id: its short chain ID). Given `leftovers`,
 * also checks every distribution record (one that does not parse is damage) and every overlay2
 * dir for an owner, and lists what nothing references as reclaimable.
 */
export async function verifyStore(
  stores: {
    backend: StoreBackend;
    images: ImageStore;
    layers: LayerStore;
    layerMetadata: LayerMetadataStore;
    references: ReferenceStore;
    leftovers?: Omit<LeftoverScope, "layers">;
  },
  options: WorkOptions = {},
): Promise<VerifyReport> {
  const { backend, images, layers, layerMetadata, references } = stores;
  const { signal, onProgress } = options;
  const problems: VerifyProblem[] = [];
  const imageName = (id: Digest) => {
    const tags = references.references(id).map((r) => r.familiar);
    return tags.length > 0 ? `${tags.join(", ")} (${shortId(id)})` : shortId(id);
  };

  // Configs: walk the backend itself, since the image store skipped unreadable ones at open.
  let configs = 0;
  await backend.walk(async (id) => {
    signal?.throwIfAborted();
    configs++;
    try {
      await backend.get(id);
    } catch (e) {
      // Listed by the walk, then removed (an rmi running beside this verify): gone, not damaged.
      if (isStoreError(e, BackendErrorCode.NotFound)) {
        configs--;
        return;
      }
      problems.push({ what: "config", id: id.toString(), images: [id], message: `image ${imageName(id)}: config ${id}: ${(e as Error).message}` });
    }
  });
  for (const p of images.problems) {
    if (!problems.some((q) => q.message.includes(p.message))) problems.push({ what: "image-store", images: [], message: `image store: ${p.message}` });
  }
  // References: every entry of repositories.json must be a valid reference to an image that is
  // there; a tag whose value is not a digest, or that points at nothing, is damage too.
  for (const p of references.problems) {
    problems.push({
      what: "reference",
      images: [],
      message: `reference ${JSON.stringify(p.reference)} in repository ${JSON.stringify(p.repository)} -> ${JSON.stringify(p.id)}: ${p.message}`,
    });
  }
  for (const repository of references.repositories()) {
    for (const { ref, id } of references.referencesByName(repository)) {
      if (images.has(id)) continue;
      problems.push({
        what: "reference",
        id: id.toString(),
        images: [],
        message: `reference ${ref.familiar} points at image ${id}, which is not in the store`,
      });
    }
  }
  for (const p of layers.problems) {
    problems.push({ what: "layer-store", ...(p.chainId ? { id: p.chainId } : {}), images: [], message: `layer ${p.chainId ?? p.mount ?? "?"}: ${p.message}` });
  }

  const users = layerUsers(images);
  const all = [...layers.map().values()];
  for (const layer of all) {
    signal?.throwIfAborted();
    try {
      const tar = await layer.openTar();
      const chunks = progressReader(tar.stream(), {
        status: "Verifying",
        id: shortId(layer.chainId),
        total: tar.size,
        ...(onProgress ? { onProgress } : {}),
        ...(signal ? { signal } : {}),
      });
      for await (const _ of chunks);
    } catch (e) {
      if (signal?.aborted) throw e;
      // Released meanwhile (an rmi or prune in another process removed it as it was read): a
      // layer that is no longer in layerdb is gone, not damaged.
      if ((await layerMetadata.get(layer.chainId).catch(() => "unreadable")) === undefined) continue;
      const used = users.get(layer.chainId.toString()) ?? [];
      const by = used.length > 0 ? `used by ${used.map(imageName).join("; ")}` : "used by no image";
      problems.push({
        what: "layer",
        id: layer.chainId.toString(),
        images: used,
        message: `layer ${layer.chainId} (diff ${layer.diffId}, ${by}): ${(e as Error).message}`,
      });
    }
  }
  let reclaimable: Leftover[] = [];
  if (stores.leftovers) {
    signal?.throwIfAborted();
    const found = await findLeftovers({ ...stores.leftovers, layers });
    reclaimable = found.leftovers;
    for (const p of found.problems) problems.push({ what: "distribution", id: p.key, images: [], message: p.message });
  }
  return { configs, layers: all.length, problems, reclaimable };
}
