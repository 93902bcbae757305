import { createWriteStream } from "node:fs";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { randomUUID } from "node:crypto";
import { createGzip } from "node:zlib";
import type { StoreBackend } from "@store/backend";
import { encodeImageManifest } from "@store/distribution";
import { type Digest, createHasher, toDigest } from "@store/digest";
import { type ImageStore, formatGoTime, configLabels } from "@store/image";
import { mapLimit } from "@store/internal";
import type { Layer, LayerStore } from "@store/layer";
import type { ReferenceStore } from "@store/reference";
import { MediaType, type ImageManifest, parseManifest } from "@store/registry";
import type { LeaseHold } from "../leases/host-leases";
import type { ReferenceChange, SharedImageRecord, SharedLayer } from "../references/reference-change";
import type { SharedState } from "../references/shared-state";
import type { SharedContext } from "./shared-context";

/** One host's stores that an image is published from. */
export interface PublishStores {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
  /** Compressed blobs and manifests kept by pulls: sent as they are, so digests stay the registry's. */
  blobs?: StoreBackend;
  /** Where a layer compressed for the tier is spooled before its upload (it is removed after). */
  tempDir: string;
}

/** Options of {@link publishImage}. */
export interface PublishOptions {
  /**
   * The references to publish with the image (normalised, `name:tag` or `name@digest`); default:
   * every reference the host has for it.
   */
  references?: readonly string[];
  /** Layers compressed and uploaded at once (default 3). */
  concurrency?: number;
  signal?: AbortSignal;
}

/** What {@link publishImage} did. */
export interface PublishResult {
  id: Digest;
  /** Blobs this host uploaded (the others were in the tier already, or another host uploaded them). */
  uploaded: Digest[];
  /** Whether the image record was written (false: the tier had the image and every reference). */
  changed: boolean;
}

/**
 * Copies an image of this host into the shared tier: each blob uploaded once across hosts (a
 * lease taken first, then `ensureBlob`), then one change record naming the image and its
 * references, so every host lists it at once. A pulled image goes up with its registry manifest
 * and blobs as they came (the same digests everywhere); a loaded or imported one gets a Docker
 * schema2 manifest, its layers rebuilt from the layer store and gzip-compressed once (a layer the
 * tier holds already, from another image, is not compressed again). The record is written only
 * after every blob it names is in the tier: a host that sees the image can always copy it.
 */
export async function publishImage(tier: SharedContext, stores: PublishStores, id: Digest, options: PublishOptions = {}): Promise<PublishResult> {
  const { signal } = options;
  const opts = signal ? { signal } : {};
  const state = await tier.log.refresh(opts);
  const refs = options.references ?? stores.references.references(id).map((r) => r.toString());
  const present = state.images.get(id.toString());
  if (present && refs.every((r) => state.references.get(r) === id.toString())) return { id, uploaded: [], changed: false };

  const holds: LeaseHold[] = [];
  const uploaded: Digest[] = [];
  const hold = async (digests: Digest[]) => holds.push(await tier.leases.hold(digests, opts));
  const ensure = async (digest: Digest, upload: () => Promise<void>) => {
    if ((await tier.ensureBlob(tier, digest, upload, opts)) === "uploaded") uploaded.push(digest);
  };
  try {
    let record = present;
    const documents: { digest: Digest; bytes: Uint8Array }[] = [];
    if (!record) {
      const image = await stores.images.get(id);
      const configBytes = image.raw;
      const top = image.chainId ? await stores.layers.get(image.chainId) : undefined;
      try {
        const chain: Layer[] = [];
        for (let l = top; l; l = l.parent) chain.unshift(l);
        const kept = await keptManifest(stores, id);
        let layers: SharedLayer[];
        let manifest: { digest: Digest; mediaType: string; bytes: Uint8Array };
        if (kept) {
          layers = kept.manifest.layers.map((d, i) => ({
            digest: d.digest.toString(),
            mediaType: d.mediaType,
            size: d.size,
            diffId: chain[i]!.diffId.toString(),
          }));
          await mapLimit(kept.manifest.layers, options.concurrency ?? 3, async (d) => {
            await hold([d.digest]);
            await ensure(d.digest, () => copyBlob(stores.blobs!, tier.blobs, d.digest, d.size));
          });
          manifest = { digest: kept.digest, mediaType: kept.manifest.mediaType, bytes: kept.bytes };
          documents.push(...kept.documents);
        } else {
          layers = await mapLimit(chain, options.concurrency ?? 3, (layer) => publishLayer(tier, stores, state, layer, hold, ensure, signal));
          manifest = encodeImageManifest(MediaType.DockerManifest, { mediaType: MediaType.DockerConfig, size: configBytes.byteLength, digest: id }, layers);
        }
        await hold([id]);
        await ensure(id, () => tier.blobs.setStream([configBytes], { expected: id, size: configBytes.byteLength }).then(() => undefined));
        documents.push({ digest: manifest.digest, bytes: manifest.bytes });
        const labels = configLabels(image.runConfig);
        const config = image.config as { architecture?: string; variant?: string };
        record = {
          id: id.toString(),
          manifest: { digest: manifest.digest.toString(), mediaType: manifest.mediaType, size: manifest.bytes.byteLength },
          configSize: configBytes.byteLength,
          layers,
          size: top?.size ?? 0,
          created: formatGoTime(image.created),
          ...(labels && Object.keys(labels).length > 0 ? { labels } : {}),
          os: image.os,
          ...(config.architecture ? { architecture: config.architecture } : {}),
          ...(config.variant ? { variant: config.variant } : {}),
        } satisfies SharedImageRecord;
      } finally {
        if (top) await stores.layers.release(top).catch(() => undefined);
      }
    }
    // Digest references name documents (a registry's index, its manifest): those go up too, so a
    // host or a registry client asking by that digest finds it.
    for (const ref of refs) {
      const at = ref.indexOf("@");
      if (at < 0 || !stores.blobs) continue;
      const digest = toDigest(ref.slice(at + 1));
      if (documents.some((d) => d.digest.equals(digest))) continue;
      if (await stores.blobs.has(digest).catch(() => false)) documents.push({ digest, bytes: await stores.blobs.get(digest) });
    }
    for (const doc of documents) {
      await hold([doc.digest]);
      await ensure(doc.digest, () => tier.blobs.setStream([doc.bytes], { expected: doc.digest, size: doc.bytes.byteLength }).then(() => undefined));
    }
    const changes: ReferenceChange[] = present ? [] : [{ op: "image", image: record }];
    for (const ref of refs) {
      const at = ref.indexOf("@");
      // A digest reference whose document the tier does not hold would resolve to nothing.
      if (at >= 0 && !documents.some((d) => d.digest.toString() === ref.slice(at + 1)) && !(await tier.blobs.has(ref.slice(at + 1)))) continue;
      if (state.references.get(ref) !== id.toString()) changes.push({ op: "tag", reference: ref, image: id.toString() });
    }
    if (changes.length > 0) await tier.log.append(changes, opts);
    return { id, uploaded, changed: changes.length > 0 };
  } finally {
    for (const h of holds) h.release();
  }
}

/**
 * A manifest a pull kept for the image (by one of its digest references, through an index to the
 * entry whose config is the image), when every layer blob it names was kept too.
 */
async function keptManifest(
  stores: PublishStores,
  id: Digest,
): Promise<{ digest: Digest; bytes: Uint8Array; manifest: ImageManifest; documents: { digest: Digest; bytes: Uint8Array }[] } | undefined> {
  const blobs = stores.blobs;
  if (!blobs) return undefined;
  for (const ref of stores.references.references(id)) {
    if (!ref.digest || !(await blobs.has(ref.digest).catch(() => false))) continue;
    try {
      const bytes = await blobs.get(ref.digest);
      const parsed = parseManifest(bytes);
      const documents = [{ digest: ref.digest, bytes }];
      let found: { digest: Digest; bytes: Uint8Array; manifest: ImageManifest } | undefined;
      if (parsed.kind === "manifest") {
        if (parsed.config.digest.equals(id)) found = { digest: ref.digest, bytes, manifest: parsed };
      } else {
        for (const entry of parsed.manifests) {
          if (!(await blobs.has(entry.digest).catch(() => false))) continue;
          const childBytes = await blobs.get(entry.digest);
          const child = parseManifest(childBytes);
          if (child.kind === "manifest" && child.config.digest.equals(id)) {
            found = { digest: entry.digest, bytes: childBytes, manifest: child };
            break;
          }
        }
      }
      if (!found) continue;
      let complete = true;
      for (const layer of found.manifest.layers) if (!(await blobs.has(layer.digest).catch(() => false))) complete = false;
      if (complete) return { ...found, documents };
    } catch {
      // Not a manifest this can read: look at the next reference.
    }
  }
  return undefined;
}

/** A layer's blob in the tier: one the tier holds for the same diffID, or the layer rebuilt and compressed. */
async function publishLayer(
  tier: SharedContext,
  stores: PublishStores,
  state: SharedState,
  layer: Layer,
  hold: (digests: Digest[]) => Promise<unknown>,
  ensure: (digest: Digest, upload: () => Promise<void>) => Promise<void>,
  signal: AbortSignal | undefined,
): Promise<SharedLayer> {
  const diffId = layer.diffId.toString();
  for (const image of state.images.values()) {
    const known = image.layers.find((l) => l.diffId === diffId && (l.mediaType === MediaType.DockerLayer || l.mediaType === MediaType.OciLayerGzip));
    if (!known) continue;
    const digest = toDigest(known.digest);
    await hold([digest]);
    // Held before it is looked at: a collection cannot take it between this look and the record.
    if (await tier.blobs.has(digest)) return { ...known, mediaType: MediaType.DockerLayer };
  }
  await mkdir(stores.tempDir, { recursive: true });
  const file = join(stores.tempDir, `shared-${randomUUID()}.tar.gz`);
  try {
    const { stream } = await layer.openTar();
    const hasher = createHasher();
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hasher.update(chunk);
        size += chunk.byteLength;
        done(null, chunk);
      },
    });
    // Compressed to a file first: the blob's digest must be known before the upload, so that
    // hosts publishing the same layer at once upload it once (gzip is deterministic for the
    // same bytes, level and zlib).
    await pipeline(Readable.from(stream()), createGzip(), count, createWriteStream(file), signal ? { signal } : {});
    const digest = hasher.digest();
    await hold([digest]);
    await ensure(digest, () => tier.blobs.setFile(file, { expected: digest, size, verified: true }).then(() => undefined));
    return { digest: digest.toString(), mediaType: MediaType.DockerLayer, size, diffId };
  } finally {
    await rm(file, { force: true });
  }
}

/** A blob from this host's content store to the tier's, verified on the way. */
async function copyBlob(from: StoreBackend, to: StoreBackend, digest: Digest, size: number): Promise<void> {
  await to.setStream(await from.getStream(digest), { expected: digest, size });
}
