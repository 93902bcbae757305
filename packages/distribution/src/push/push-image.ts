import { createGzip } from "node:zlib";
import { Readable } from "node:stream";
import type { StoreBackend } from "@store/backend";
import { type Digest, digestFromBytes } from "@store/digest";
import type { ImageStore } from "@store/image";
import { type ProgressEvent, type ProgressListener, mapLimit, progressMessage, progressReader, progressStatus } from "@store/internal";
import type { Layer, LayerStore } from "@store/layer";
import { type NamedReference, type ReferenceStore, trimNamed, withDigest } from "@store/reference";
import { MediaType, type Repository, parseManifest } from "@store/registry";
import type { DistributionMetadata, V2Metadata } from "../distribution-metadata";
import { encodeImageManifest } from "./image-manifest";

/** The stores a push reads: those of one dockerd root. */
export interface PushStores {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
  distribution: DistributionMetadata;
  /** Compressed blobs kept by pulls and loads: re-sent as they were instead of compressed again. */
  blobs?: StoreBackend;
}

export interface PushOptions {
  /** Layers uploaded at once; default 5, as dockerd's max-concurrent-uploads. */
  concurrency?: number;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

export interface PushResult {
  /** The manifest's digest, as the registry confirmed it. */
  digest: Digest;
  /** The manifest's size in bytes. */
  size: number;
  /** The tag pushed. */
  tag: string;
}

// moby tries up to 4 mounts and 3 existence checks for a large blob.
const MAX_CANDIDATES = 4;

/** A layer as it went to the registry: the blob's digest, size and media type. */
interface PushedLayer {
  digest: Digest;
  size: number;
  compression: "gzip" | "zstd";
}

/**
 * `docker push NAME:TAG`: the image the tag names, to `repo`. Each layer, bottom-up, is known
 * to the registry already (HEAD of a blob distribution metadata recorded for this repository),
 * mounted from another repository of the same registry, re-sent from the content store as it
 * was pulled or loaded, or rebuilt from the layer store and gzip-compressed once (the result
 * recorded so the next push skips it). Then the config and a manifest — Docker schema2, or OCI
 * when a layer is zstd — are put, and the digest reference recorded locally (RepoDigests).
 */
export async function pushImage(repo: Repository, ref: NamedReference, stores: PushStores, options: PushOptions = {}): Promise<PushResult> {
  const { signal, onProgress } = options;
  const emit = (event: ProgressEvent) => onProgress?.(event);
  const tag = ref.tag ?? "latest";
  const target = trimNamed(ref);
  const id = stores.references.get(ref);
  const image = await stores.images.get(id);
  const configBytes = await stores.images.backend.get(id);
  emit(progressMessage(`The push refers to repository [${target.name}]`));

  const top = image.chainId ? await stores.layers.get(image.chainId) : undefined;
  try {
    const chain: Layer[] = [];
    for (let l = top; l; l = l.parent) chain.unshift(l);
    for (const layer of chain) emit(progressStatus("Preparing", layer.diffId.encoded.slice(0, 12)));
    const pushed = await mapLimit(chain, Math.max(1, options.concurrency ?? 5), (layer) => pushLayer(repo, target, layer, stores, emit, signal));
    signal?.throwIfAborted();
    const configDigest = digestFromBytes(configBytes);
    if (!(await repo.statBlob(configDigest, { ...(signal ? { signal } : {}) }))) {
      await repo.pushBlob(Readable.from([configBytes]), { expected: { digest: configDigest, size: configBytes.byteLength }, ...(signal ? { signal } : {}) });
    }
    // OCI where the image came as OCI (its pulled manifest says so) or a layer is zstd (which
    // schema2 cannot name); Docker schema2 otherwise, as docker pushes.
    const oci = pushed.some((p) => p.compression === "zstd") || (await pulledAsOci(stores, id));
    const { bytes, mediaType } = encodeImageManifest(
      oci ? MediaType.OciManifest : MediaType.DockerManifest,
      { mediaType: oci ? MediaType.OciConfig : MediaType.DockerConfig, size: configBytes.byteLength, digest: configDigest },
      pushed.map((p) => ({
        mediaType: p.compression === "zstd" ? MediaType.OciLayerZstd : oci ? MediaType.OciLayerGzip : MediaType.DockerLayer,
        size: p.size,
        digest: p.digest,
      })),
    );
    const digest = await repo.pushManifest(tag, bytes, mediaType, { ...(signal ? { signal } : {}) });
    await addDigestReference(stores.references, target, digest, id);
    emit(progressMessage(`${tag}: digest: ${digest} size: ${bytes.byteLength}`));
    return { digest, size: bytes.byteLength, tag };
  } finally {
    if (top) await stores.layers.release(top).catch(() => undefined);
  }
}

/** The name a repository has in a mount's `from`: the path on the same registry. */
function sameRegistry(meta: V2Metadata, target: NamedReference): string | undefined {
  const slash = meta.SourceRepository.indexOf("/");
  const domain = meta.SourceRepository.slice(0, slash);
  return slash > 0 && domain === target.domain ? meta.SourceRepository.slice(slash + 1) : undefined;
}

async function pushLayer(
  repo: Repository,
  target: NamedReference,
  layer: Layer,
  stores: PushStores,
  emit: (event: ProgressEvent) => void,
  signal: AbortSignal | undefined,
): Promise<PushedLayer> {
  const id = layer.diffId.encoded.slice(0, 12);
  const opts = signal ? { signal } : {};
  const known = (await stores.distribution.getMetadata(layer.diffId).catch(() => [])).reverse(); // newest first
  // Already in this repository, or mountable from another one of the same registry (as moby,
  // a few candidates at most: each is a round trip).
  for (const meta of known.slice(0, MAX_CANDIDATES)) {
    const from = sameRegistry(meta, target);
    if (from === undefined) continue;
    const exists = from === target.path || (await repo.mountBlob(meta.Digest, from, opts).catch(() => false));
    const found = exists ? await repo.statBlob(meta.Digest, opts).catch(() => undefined) : undefined;
    if (!found) continue;
    emit(progressStatus(from === target.path ? "Layer already exists" : `Mounted from ${from}`, id));
    if (from !== target.path) await stores.distribution.add(layer.diffId, { Digest: meta.Digest, SourceRepository: target.name, HMAC: "" });
    return { digest: meta.Digest, size: found.size, compression: await blobCompression(stores, meta.Digest) };
  }
  // The blob as it was received, when the content store kept it.
  for (const meta of known) {
    const size = await blobSize(stores, meta.Digest);
    if (size === undefined) continue;
    const found = await repo.statBlob(meta.Digest, opts).catch(() => undefined);
    if (found) {
      emit(progressStatus("Layer already exists", id));
    } else {
      const source = progressReader(await stores.blobs!.getStream(meta.Digest), { status: "Pushing", id, total: size, onProgress: emit, ...opts });
      await repo.pushBlob(source, { expected: { digest: meta.Digest, size }, ...opts });
      emit(progressStatus("Pushed", id));
    }
    await stores.distribution.add(layer.diffId, { Digest: meta.Digest, SourceRepository: target.name, HMAC: "" });
    return { digest: meta.Digest, size, compression: await blobCompression(stores, meta.Digest) };
  }
  // Rebuilt from the layer store (verified against the diffID as it streams) and compressed once.
  const { size: tarSize, stream } = await layer.openTar();
  const tar = progressReader(stream(), { status: "Pushing", id, total: tarSize, onProgress: emit, ...opts });
  const gzip = Readable.from(tar).pipe(createGzip());
  const pushed = await repo.pushBlob(gzip, opts);
  emit(progressStatus("Pushed", id));
  await stores.distribution.add(layer.diffId, { Digest: pushed.digest, SourceRepository: target.name, HMAC: "" });
  return { digest: pushed.digest, size: pushed.size, compression: "gzip" };
}

async function blobSize(stores: PushStores, digest: Digest): Promise<number | undefined> {
  return (await stores.blobs?.info(digest).catch(() => undefined))?.size;
}

/**
 * A blob's compression, from its first bytes when the content store has it; gzip otherwise, as
 * moby assumes for every blob its distribution metadata names (it only ever pushes gzip).
 */
async function blobCompression(stores: PushStores, digest: Digest): Promise<"gzip" | "zstd"> {
  if (!stores.blobs || !(await stores.blobs.has(digest).catch(() => false))) return "gzip";
  for await (const chunk of await stores.blobs.getStream(digest)) {
    return chunk[0] === 0x28 && chunk[1] === 0xb5 && chunk[2] === 0x2f && chunk[3] === 0xfd ? "zstd" : "gzip";
  }
  return "gzip";
}

/**
 * Whether the image was pulled as an OCI image: a digest reference of it (RepoDigests) names a
 * manifest or index the content store kept, and its media type is OCI's.
 */
async function pulledAsOci(stores: PushStores, id: Digest): Promise<boolean> {
  const { blobs } = stores;
  if (!blobs) return false;
  for (const ref of stores.references.references(id)) {
    if (!ref.digest || !(await blobs.has(ref.digest).catch(() => false))) continue;
    try {
      const parsed = parseManifest(await blobs.get(ref.digest));
      return parsed.mediaType === MediaType.OciIndex || parsed.mediaType === MediaType.OciManifest;
    } catch {
      // Not a manifest we read: no say in the matter.
    }
  }
  return false;
}

/** moby's addDigestReference: `name@digest` → the image, unless it names something already. */
async function addDigestReference(references: ReferenceStore, target: NamedReference, digest: Digest, id: Digest): Promise<void> {
  const ref = withDigest(target, digest);
  try {
    references.get(ref);
    return;
  } catch {
    await references.add(ref, id, true);
  }
}
