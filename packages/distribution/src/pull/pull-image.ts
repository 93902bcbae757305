import type { StoreBackend } from "@store/backend";
import { type Digest, chainIds, digestFromBytes } from "@store/digest";
import { type StoreError, causeChain, isStoreError } from "@store/errors";
import { type ImageStore, parseImageConfig } from "@store/image";
import {
  KeyedLock,
  type ProgressEvent,
  type ProgressListener,
  progressMessage,
  progressReader,
  progressStatus,
  progressUpdate,
  regroupChunks,
  sleep,
} from "@store/internal";
import { type Layer, LayerErrorCode, type LayerStore, type StagedLayer } from "@store/layer";
import { type NamedReference, type ReferenceStore, parseNormalizedNamed, trimNamed, withDigest } from "@store/reference";
import { type Descriptor, type Platform, type Repository, isForeignLayer } from "@store/registry";
import type { DistributionMetadata } from "../distribution-metadata";
import { DistributionError, DistributionErrorCode } from "../errors";
import { chooseManifest } from "./choose-manifest";
import { PartialBlob, removeStalePartials } from "./partial-blob";

/** The stores a pull fills: those of one dockerd root. */
export interface PullStores {
  images: ImageStore;
  layers: LayerStore;
  references: ReferenceStore;
  distribution: DistributionMetadata;
  /** Where compressed layer blobs are kept (for push and the shared tier); none: not kept. */
  blobs?: StoreBackend;
}

export interface PullOptions {
  /** The platform to pick from a multi-platform image (default: this host's). */
  platform?: Platform;
  /** Layers downloaded (and extracted) at once; default 3, as dockerd's max-concurrent-downloads. */
  concurrency?: number;
  /**
   * Where partial downloads are kept between runs, so a killed pull resumes (default: none, no
   * resume across runs). Each file holds a prefix of one blob, named by its digest.
   */
  partialDir?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
  /** @internal No `Status:` line at the end (a pull of every tag says it once, for the repository). */
  noStatus?: boolean;
  /**
   * Record no reference (neither the tag nor `name@digest`): the caller names the image itself,
   * as the shared tier does when it copies an image with the references the tier holds for it.
   */
  untagged?: boolean;
}

export interface PullResult {
  /** The image ID. */
  id: Digest;
  /** The reference pulled, normalised (`docker.io/library/busybox:latest`). */
  reference: NamedReference;
  /** The digest the reference resolved to (what RepoDigests records). */
  digest: Digest;
  /** Whether the tag now points at a different image than before (docker: "Downloaded newer image"). */
  updated: boolean;
}

// Downloads in flight in this process, by blob digest (see LayerDownloads.extract).
const blobFlights = new KeyedLock();

// What the network's reads are regrouped into before they go on (see LayerDownloads.download).
const NETWORK_CHUNK_BYTES = 1024 * 1024;

// Attempts per layer download when the network fails (moby's max-download-attempts), and the
// delay before the next, times the attempt number.
const LAYER_ATTEMPTS = 5;
const RETRY_DELAY_MS = 1000;

// docker's limit on an image config (moby's `maxDownloadSize`-style caps are per manifest; a
// config larger than this is not an image a daemon would run).
const MAX_CONFIG_BYTES = 8 * 1024 * 1024;

/**
 * `docker pull`: the image `ref` names, from `repo`, into the stores. The manifest is verified
 * by digest, the config fetched first so every layer's diffID and chain ID are known up front;
 * layers the store has are skipped ("Already exists"); the others are downloaded `concurrency`
 * at a time, each decompressed, hashed and extracted as it streams (`LayerStore.stage`), checked
 * against its diffID and blob digest before it is committed, and committed bottom-up as soon as
 * the layers below it are. Then the image is created and tagged, the manifest's digest recorded
 * (RepoDigests) and distribution metadata written as dockerd writes them.
 *
 * On error or abort nothing new is visible: staged layers are discarded, layers committed for
 * this pull released, no image or tag created; partial downloads stay in `partialDir` for the
 * next run.
 */
export async function pullImage(repo: Repository, ref: NamedReference, stores: PullStores, options: PullOptions = {}): Promise<PullResult> {
  const { signal, onProgress } = options;
  const emit = (event: ProgressEvent) => onProgress?.(event);
  const requested = ref.digest?.toString() ?? ref.tag ?? "latest";
  emit(progressMessage(`Pulling from ${repo.name}`, requested));

  const chosen = await chooseManifest(repo, requested, options.platform, signal ? { signal } : {});
  const { manifest } = chosen;
  // The image is here already (its ID is the config's digest): nothing to fetch, as moby's pull.
  if (stores.images.has(manifest.config.digest) && (await layersIntact(stores.layers, stores.images.record(manifest.config.digest)?.chainId))) {
    await keepDocuments(stores, chosen.documents);
    return finish(stores, ref, chosen.digest, manifest.config.digest, emit, options);
  }
  const configBytes = await fetchConfig(repo, manifest.config, signal);
  const config = parseImageConfig(configBytes, `image config ${manifest.config.digest}`);
  if (config.os !== "linux") {
    throw new DistributionError(DistributionErrorCode.PlatformNotFound, `image operating system "${config.os}" cannot be used on this platform`);
  }
  const diffIds = config.rootFS.diffIds;
  if (diffIds.length !== manifest.layers.length) {
    throw new DistributionError(
      DistributionErrorCode.ManifestInvalid,
      `layers from manifest don't match image configuration: the manifest has ${manifest.layers.length}, the config ${diffIds.length}`,
    );
  }
  for (const layer of manifest.layers)
    if (isForeignLayer(layer.mediaType) && !layer.urls?.length) {
      throw new DistributionError(DistributionErrorCode.ManifestInvalid, `foreign layer ${layer.digest} has no URLs`);
    }

  const chains = chainIds(diffIds);
  // The chains the store has, bottom up, each with its files: they "Already exist". A layer
  // whose driver dir is gone (a damaged root) is pulled again, and so is everything above it.
  const have = stores.layers.map();
  let present = -1;
  for (let i = 0; i < chains.length; i++) {
    const layer = have.get(chains[i]!.toString());
    if (!layer || !(await stores.layers.driver.exists(layer.cacheId))) break;
    present = i;
  }

  const held: Layer[] = [];
  const staged: StagedLayer[] = [];
  const extractions: Promise<unknown>[] = [];
  const controller = new AbortController();
  const onAbort = () => controller.abort(signal!.reason);
  signal?.addEventListener("abort", onAbort, { once: true });
  const inner = controller.signal;
  let downloads: LayerDownloads | undefined;
  try {
    if (present >= 0) held.push(await stores.layers.get(chains[present]!));
    for (let i = 0; i <= present; i++) emit(progressStatus("Already exists", progressId(manifest.layers[i]!)));
    const todo = manifest.layers.slice(present + 1).map((descriptor, j) => ({ descriptor, index: present + 1 + j }));
    for (const { descriptor } of todo) emit(progressStatus("Pulling fs layer", progressId(descriptor)));

    if (options.partialDir) await removeStalePartials(options.partialDir);
    const layerDownloads = new LayerDownloads(repo, stores, options, inner, emit);
    downloads = layerDownloads;
    // Committed bottom-up, each as soon as it and everything below it are in.
    let below: Promise<Digest | undefined> = Promise.resolve(present >= 0 ? chains[present] : undefined);
    const committed = todo.map(({ descriptor, index }) => {
      const extracted = layerDownloads.run(descriptor, diffIds[index]!).then((layer) => {
        staged.push(layer);
        return layer;
      });
      extractions.push(extracted.catch(() => undefined));
      below = (async () => {
        const parent = await below;
        const layer = await extracted;
        const registered = await layer.commit(parent, { diffId: diffIds[index]! });
        held.push(registered.layer);
        emit(progressStatus("Pull complete", progressId(descriptor)));
        return registered.layer.chainId;
      })();
      return below;
    });
    // Fail fast: the first error aborts the other downloads.
    await Promise.all(
      committed.map((p) =>
        p.catch((e: unknown) => {
          controller.abort(e);
          throw e;
        }),
      ),
    );

    // The blobs go to the content store before the image shows (its partial files removed), and
    // the manifests with them: what push reads to tell an OCI image from a Docker one.
    await layerDownloads.settled();
    await keepDocuments(stores, chosen.documents);
    const id = await stores.images.create(configBytes);
    for (const { descriptor, index } of todo) {
      await stores.distribution.add(diffIds[index]!, { Digest: descriptor.digest, SourceRepository: trimNamed(ref).name, HMAC: "" });
    }
    return await finish(stores, ref, chosen.digest, id, emit, options);
  } catch (e) {
    controller.abort(e);
    throw signal?.aborted ? signal.reason : e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
    // Extractions still running (aborted above) must end before their files can be removed.
    await Promise.allSettled(extractions);
    await downloads?.settled();
    for (const layer of staged) await layer.discard().catch(() => undefined);
    for (const layer of held.reverse()) await stores.layers.release(layer).catch(() => undefined);
  }
}

/**
 * `docker pull -a NAME`: every tag of the repository, one after the other, then one `Status:`
 * line for the repository. The results, in the registry's tag order.
 */
export async function pullAllTags(repo: Repository, name: NamedReference, stores: PullStores, options: PullOptions = {}): Promise<PullResult[]> {
  const tags = await repo.listTags(options.signal ? { signal: options.signal } : {});
  const results: PullResult[] = [];
  // Parsed as any reference is: a hostile registry's "tag" gets docker's "invalid reference format".
  for (const tag of tags) results.push(await pullImage(repo, parseNormalizedNamed(`${name.name}:${tag}`), stores, { ...options, noStatus: true }));
  const updated = results.some((r) => r.updated);
  options.onProgress?.(progressMessage(`Status: ${updated ? "Downloaded newer image" : "Image is up to date"} for ${name.familiarName}`));
  return results;
}

/** Whether the chain `chainId` names has every layer's files (its driver dirs), bottom to top. */
async function layersIntact(layers: LayerStore, chainId: Digest | undefined): Promise<boolean> {
  if (!chainId) return true;
  for (let layer = layers.map().get(chainId.toString()); layer; layer = layer.parent) {
    if (!(await layers.driver.exists(layer.cacheId))) return false;
  }
  return layers.map().has(chainId.toString());
}

/** Manifests and indexes into the content store (a cache: a failure there is not the pull's). */
async function keepDocuments(stores: PullStores, documents: { digest: Digest; bytes: Uint8Array }[]): Promise<void> {
  if (!stores.blobs) return;
  for (const { digest, bytes } of documents) await stores.blobs.setStream([bytes], { expected: digest, size: bytes.byteLength }).catch(() => undefined);
}

/** Tags the image pulled and says so, as docker's last two lines. */
async function finish(
  stores: PullStores,
  ref: NamedReference,
  digest: Digest,
  id: Digest,
  emit: (event: ProgressEvent) => void,
  options: PullOptions,
): Promise<PullResult> {
  const updated = options.untagged ? false : await tagPulled(stores.references, ref, digest, id);
  emit(progressMessage(`Digest: ${digest}`));
  if (!options.noStatus) emit(progressMessage(`Status: ${updated ? "Downloaded newer image" : "Image is up to date"} for ${ref.familiar}`));
  return { id, reference: ref, digest, updated };
}

/** The registry's error behind `e` (a layer store wraps what its source threw), if any. */
function registryCause(e: unknown): (StoreError & { kind: string }) | undefined {
  for (const cause of causeChain(e)) if (isStoreError(cause) && cause.code.startsWith("ERR_REGISTRY_")) return cause;
  return undefined;
}

/**
 * Whether `e` (or what it wraps: the graph driver wraps what its source threw) says the bytes
 * were bad: a digest or size mismatch, or data the decompressor or the tar reader refuses.
 */
function isCorruption(e: unknown): boolean {
  for (const cause of causeChain(e)) if (isStoreError(cause) && (cause.kind === "dataLoss" || cause.code === LayerErrorCode.InvalidData)) return true;
  return false;
}

/** The message of the deepest cause of `e`: the reason, without each wrapper's context. */
function innermostMessage(e: unknown): string {
  let message = String((e as Error)?.message ?? e);
  for (const cause of causeChain(e)) if (cause instanceof Error) message = cause.message;
  return message;
}

/** The 12 characters docker names a layer's progress line by: its blob digest's hex. */
function progressId(descriptor: Descriptor): string {
  return descriptor.digest.encoded.slice(0, 12);
}

async function fetchConfig(repo: Repository, descriptor: Descriptor, signal: AbortSignal | undefined): Promise<Uint8Array> {
  if (descriptor.size > MAX_CONFIG_BYTES) {
    throw new DistributionError(
      DistributionErrorCode.ManifestInvalid,
      `image config ${descriptor.digest} is ${descriptor.size} bytes, more than ${MAX_CONFIG_BYTES}`,
    );
  }
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of repo.fetchBlob(descriptor, { ...(signal ? { signal } : {}) })) {
    size += chunk.byteLength;
    if (size > descriptor.size) break;
    chunks.push(chunk);
  }
  const bytes = Buffer.concat(chunks);
  if (size !== descriptor.size) {
    throw new DistributionError(DistributionErrorCode.BlobMismatch, `image config ${descriptor.digest}: ${size} bytes, its descriptor says ${descriptor.size}`);
  }
  if (!digestFromBytes(bytes, descriptor.digest.algorithm).equals(descriptor.digest)) {
    throw new DistributionError(DistributionErrorCode.BlobMismatch, `image config ${descriptor.digest}: the bytes do not match the digest`);
  }
  return bytes;
}

/**
 * Tags the image as moby's pull does: the tag (when pulled by tag) moved to it, and the digest
 * reference `name@digest` added unless it exists. Whether the tag moved.
 */
async function tagPulled(references: ReferenceStore, ref: NamedReference, digest: Digest, id: Digest): Promise<boolean> {
  let updated = false;
  if (ref.tag !== undefined && !ref.isCanonical) {
    let previous: Digest | undefined;
    try {
      previous = references.get(ref);
    } catch {
      previous = undefined;
    }
    if (!previous?.equals(id)) {
      await references.add(ref, id, true);
      updated = true;
    }
  }
  const byDigest = withDigest(trimNamed(ref), digest);
  let existing: Digest | undefined;
  try {
    existing = references.get(byDigest);
  } catch {
    existing = undefined;
  }
  if (!existing) {
    await references.add(byDigest, id, true);
    updated = true;
  }
  return updated;
}

/** The downloads of one pull: at most `concurrency` at once, each streamed into `LayerStore.stage`. */
class LayerDownloads {
  private active = 0;
  private readonly flights: Promise<void>[] = [];
  private readonly waiting: (() => void)[] = [];
  private readonly limit: number;

  constructor(
    private readonly repo: Repository,
    private readonly stores: PullStores,
    private readonly options: PullOptions,
    private readonly signal: AbortSignal,
    private readonly emit: (event: ProgressEvent) => void,
  ) {
    this.limit = Math.max(1, options.concurrency ?? 3);
  }

  /** Downloads and extracts one layer; the staged layer, verified against its blob digest and `diffId`. */
  async run(descriptor: Descriptor, diffId: Digest): Promise<StagedLayer> {
    const id = progressId(descriptor);
    if (this.active >= this.limit) {
      this.emit(progressStatus("Waiting", id));
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active++;
    try {
      this.signal.throwIfAborted();
      return await this.extract(descriptor, diffId, id);
    } finally {
      this.active--;
      this.waiting.shift()?.();
    }
  }

  /**
   * One blob at a time per digest in this process (a layer twice in one image, or two pulls in
   * one daemon sharing a layer): the second waits until the first has published the blob, then
   * registers it from the content store. The layer is handed on as soon as it is staged; the
   * blob is published meanwhile, still under the lock.
   */
  private extract(descriptor: Descriptor, diffId: Digest, id: string): Promise<StagedLayer> {
    return new Promise((resolve, reject) => {
      const flight = blobFlights
        .run(descriptor.digest.toString(), async () => {
          const { layer, partial } = await this.download(descriptor, diffId, id);
          resolve(layer);
          if (partial) await this.publish(partial, descriptor);
        })
        .catch(reject);
      this.flights.push(flight);
    });
  }

  /** Waits for every download and publication this pull started (none runs on after the pull). */
  async settled(): Promise<void> {
    await Promise.allSettled(this.flights);
  }

  private async download(descriptor: Descriptor, diffId: Digest, id: string): Promise<{ layer: StagedLayer; partial?: PartialBlob }> {
    const { blobs, layers } = this.stores;
    const expected = { diffId, blob: { digest: descriptor.digest, size: descriptor.size } };
    // Kept from an earlier pull (or a load): no network at all.
    if (blobs && (await blobs.has(descriptor.digest).catch(() => false))) {
      const source = progressReader(await blobs.getStream(descriptor.digest), this.progress("Extracting", id, descriptor.size));
      return { layer: await layers.stage(source, { expected, signal: this.signal }) };
    }
    for (let attempt = 1; ; attempt++) {
      const partial = this.options.partialDir ? await PartialBlob.open(this.options.partialDir, descriptor.digest, descriptor.size) : undefined;
      // The network gives 64 KiB reads; every stage after it (the partial file's writes, both
      // hashes, the decompressor, progress) pays a fixed cost per chunk: fewer, larger ones.
      const remote = (offset: number) => regroupChunks(this.repo.fetchBlob(descriptor, { offset, signal: this.signal }), NETWORK_CHUNK_BYTES);
      const bytes = partial ? partial.stream(remote) : remote(0);
      const counted = progressReader(bytes, this.progress("Downloading", id, descriptor.size));
      try {
        const layer = await layers.stage(counted, { expected, signal: this.signal });
        this.emit(progressStatus("Verifying Checksum", id));
        this.emit(progressStatus("Download complete", id));
        this.emit(progressUpdate("Extracting", id, descriptor.size, descriptor.size));
        return partial ? { layer, partial } : { layer };
      } catch (e) {
        if (this.signal.aborted) throw this.signal.reason; // the partial download stays, for the next run
        const network = registryCause(e);
        // Bytes that arrived and do not verify are not worth resuming from.
        if (!network && partial) await partial.remove();
        if (!network && isCorruption(e)) {
          // Bytes that do not decompress or hash right: the blob the registry sent is damaged
          // (moby's words), said with the innermost reason rather than the extractor's path.
          throw new DistributionError(
            DistributionErrorCode.BlobMismatch,
            `filesystem layer verification failed for digest ${descriptor.digest}: ${innermostMessage(e)}`,
            { cause: e, details: { digest: descriptor.digest.toString(), repository: `${this.repo.host}/${this.repo.name}` } },
          );
        }
        // The network failed past what the client's own resumes cover: the layer again, from
        // the bytes on disk (moby retries a layer 5 times; a digest mismatch never).
        if (network?.kind !== "unavailable" || attempt >= LAYER_ATTEMPTS) throw network ?? e;
        const delayMs = RETRY_DELAY_MS * attempt;
        this.emit(progressStatus(`Retrying in ${Math.round(delayMs / 1000)} second${delayMs === 1000 ? "" : "s"}`, id));
        await sleep(delayMs, this.signal);
      }
    }
  }

  /** The verified blob into the content store, then the partial file goes. */
  private async publish(partial: PartialBlob, descriptor: Descriptor): Promise<void> {
    try {
      // Verified: the layer store hashed exactly these bytes as they were written to the file, so
      // the content store may take the file as it is (a hard link, not a copy).
      if (this.stores.blobs) await this.stores.blobs.setFile(partial.path, { expected: descriptor.digest, size: descriptor.size, verified: true });
    } catch {
      // The content store is a cache: a blob not kept is fetched again next time.
    }
    await partial.remove().catch(() => undefined);
  }

  private progress(status: string, id: string, total: number) {
    const { emit } = this;
    return { status, id, total, onProgress: emit, signal: this.signal };
  }
}
