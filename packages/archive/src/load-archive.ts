import { dirname, join } from "node:path";
import { tmpdir } from "node:os";
import { type Digest, chainId, digestFromBytes, digestStream } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type ProgressListener, progressReader } from "@store/internal";
import { type ParsedImageConfig, parseImageConfig } from "@store/image";
import { type NamedReference, parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { type ExpectedLayer, type Layer, LayerErrorCode, decompress } from "@store/layer";
import { ArchiveFiles, progressId } from "./archive-files";
import type { ArchiveStores } from "./archive-stores";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { layerRefusal } from "./layer-refusal";
import { type LoadPlan, type PlannedImage, type PlannedLayer, makePlan } from "./load-plan";
import { checkValidParent } from "./parent-links";
import { Spool } from "./spool";

export interface LoadOptions {
  /**
   * "Loading layer" progress events as each layer's bytes are read (dockerd's bars; id: the
   * first 12 characters of the layer's v1 ID or blob digest, total: its size in the archive).
   */
  onProgress?: ProgressListener;
  /** No progress reports (`docker load -q`). */
  quiet?: boolean;
  /**
   * Where to spool archive entries that cannot be registered yet. Default: `<root>/tmp` next to
   * the graph driver's home (dockerd's own temp dir), so spooled files stay on the store's
   * filesystem.
   */
  tempDir?: string;
  /**
   * What the archive's files held in memory may take together (default 64 MiB): small files
   * past it are spooled, metadata past it (or any metadata file over 20 MiB) refused, so a
   * hostile archive cannot grow the load's memory (see `MemoryBudget`).
   */
  memoryBudget?: number;
  /** Aborts the load; what was registered is released, nothing is tagged. */
  signal?: AbortSignal;
}

/** One image the archive held, as loaded. */
export interface LoadedImage {
  id: Digest;
  /** The tags now pointing at it, familiar form (`busybox:latest`), in archive order. */
  tags: string[];
}

export interface LoadResult {
  /** Archive format found: a docker-archive (`manifest.json`) or an OCI image layout. */
  format: LoadPlan["format"];
  images: LoadedImage[];
  /**
   * What `docker load` prints, line by line: `Loaded image: busybox:latest`, `The image … already
   * exists, renaming the old one with ID … to empty string`, or `Loaded image ID: sha256:…` when
   * the archive's last image has no tag (moby's rule).
   */
  messages: string[];
}

interface CheckedImage {
  plan: PlannedImage;
  config: ParsedImageConfig;
  tags: NamedReference[];
}

/**
 * `docker load`: reads a docker-archive (dockerd 20.10's classic layout or Docker 25+'s OCI
 * layout with manifest.json), or an OCI image layout, plain or gzip/zstd-compressed, into the
 * stores. The archive is streamed: layers whose place is known when they arrive are registered
 * at once; the others are spooled and registered once the manifest says where they go. Every
 * layer's diff ID is checked against its config (and a blob's digest and size against its
 * descriptor) by the layer store, before the layer is committed. On any error the stores are left as they were:
 * layers registered for the load are released, images it created deleted, tags restored.
 */
export async function loadArchive(source: AsyncIterable<Uint8Array>, stores: ArchiveStores, options: LoadOptions = {}): Promise<LoadResult> {
  const { layers } = stores;
  const spool = new Spool(options.tempDir ?? defaultTempDir(layers.driver.home));
  const onProgress = options.quiet ? undefined : options.onProgress;
  const files = new ArchiveFiles({
    layers,
    spool,
    ...(onProgress ? { onProgress } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.memoryBudget !== undefined ? { memoryBudget: options.memoryBudget } : {}),
  });
  const held: Layer[] = [];
  try {
    await files.read(source);
    const plan = await makePlan(files);
    const checked = plan.images.map((img) => checkImage(img, plan.format));
    // Layers first, for every image: nothing is created until every layer is in place.
    for (const img of checked) await resolveLayers(img, files, stores, held, onProgress, spool, options.signal);
    return await commit(plan, checked, stores);
  } finally {
    // The images created hold their own references; what was registered for nothing goes away.
    for (const layer of [...held, ...files.handles].reverse()) await layers.release(layer).catch(() => undefined);
    await files.discardStaged();
    await spool.remove().catch(() => undefined);
  }
}

function defaultTempDir(driverHome: string | undefined): string {
  return driverHome ? join(dirname(driverHome), "tmp") : tmpdir();
}

/** Everything about an image that can be checked before touching the stores (moby checks the same, later). */
function checkImage(plan: PlannedImage, format: LoadPlan["format"]): CheckedImage {
  let config: ParsedImageConfig;
  try {
    config = parseImageConfig(plan.config, `${plan.what}: config ${plan.configPath}`);
  } catch (e) {
    throw new ArchiveError(ArchiveErrorCode.Invalid, (e as Error).message, { cause: e, details: { file: plan.configPath } });
  }
  if (config.os !== "linux") {
    throw new ArchiveError(ArchiveErrorCode.UnsupportedPlatform, `${plan.what}: cannot load ${config.os} image on linux`, {
      details: { file: plan.configPath, os: config.os },
    });
  }
  if (plan.layers.length !== config.rootFS.diffIds.length) {
    throw new ArchiveError(
      ArchiveErrorCode.Invalid,
      `${plan.what}: invalid manifest, layers length mismatch: expected ${plan.layers.length}, got ${config.rootFS.diffIds.length}`,
      { details: { file: plan.configPath } },
    );
  }
  const tags = plan.repoTags.map((text) => {
    let ref: NamedReference;
    try {
      ref = parseNormalizedNamed(text);
    } catch (e) {
      throw new ArchiveError(ArchiveErrorCode.InvalidReference, `${plan.what}: invalid tag ${JSON.stringify(text)}: ${(e as Error).message}`, {
        cause: e,
        details: { reference: text },
      });
    }
    // An OCI name without a tag means :latest (as containerd reads it); manifest.json must tag.
    if (format === "oci" && !ref.isTagged && !ref.isCanonical) ref = tagNameOnly(ref);
    if (!ref.isTagged || ref.isCanonical) {
      throw new ArchiveError(ArchiveErrorCode.InvalidReference, `${plan.what}: invalid tag ${JSON.stringify(text)}`, { details: { reference: text } });
    }
    return ref;
  });
  return { plan, config, tags };
}

/**
 * Puts every layer of an image in the layer store, bottom up, as moby's Load does: a chain the
 * store has is taken as it is; otherwise the archive's file is registered on its parent. A file
 * registered while streaming is used as is when it landed on the right parent, and re-registered
 * from its own bytes when a guess put it elsewhere. Its diff ID must be the config's (and a blob
 * its descriptor's): the layer store checks them before it commits anything.
 */
async function resolveLayers(
  img: CheckedImage,
  files: ArchiveFiles,
  stores: ArchiveStores,
  held: Layer[],
  onProgress: LoadOptions["onProgress"],
  spool: Spool,
  signal: AbortSignal | undefined,
): Promise<void> {
  const { layers } = stores;
  const diffIds = img.config.rootFS.diffIds;
  let parent: Digest | undefined;
  for (let i = 0; i < diffIds.length; i++) {
    signal?.throwIfAborted();
    const diffId = diffIds[i]!;
    const layerPlan = img.plan.layers[i]!;
    const chain: Digest = parent ? chainId([parent, diffId])! : diffId;
    const what = `${img.plan.what} layer ${i} (${layerPlan.path})`;
    const found = files.resolve(layerPlan.path);
    if (!found) {
      throw new ArchiveError(ArchiveErrorCode.MissingFile, `${what}: the archive has no file ${JSON.stringify(layerPlan.path)}`, {
        details: { file: layerPlan.path, diffId: diffId.toString() },
      });
    }
    const file = found.file;
    if (file.kind === "unreadable") {
      throw (
        layerRefusal(what, layerPlan.path, file.error) ??
        new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${file.error.message}`, { cause: file.error, details: { file: layerPlan.path } })
      );
    }
    const expected: ExpectedLayer = {
      diffId,
      ...(layerPlan.digest ? { blob: { digest: layerPlan.digest, ...(layerPlan.size !== undefined ? { size: layerPlan.size } : {}) } } : {}),
    };
    if (file.kind === "staged") {
      // Now it is known what the layer goes on and must be: checked, then stacked (or the chain already here taken).
      try {
        await files.commitStaged(found.path, parent, expected);
      } catch (e) {
        throw layerRefusal(what, layerPlan.path, e) ?? e;
      }
      parent = chain;
      continue;
    }
    if (file.kind === "layer") {
      // Registered while streaming, checked then against what the archive had said so far.
      if (!file.layer.diffId.equals(diffId)) throw mismatch(what, layerPlan.path, diffId, file.layer.diffId);
      checkBlobDigest(what, layerPlan, file.blob?.digest, file.layer.diffId);
      // Registered before the manifest gave the descriptor's size: the entry is the blob, so check it now.
      checkBlobSize(what, layerPlan, file.blob?.size ?? file.size);
      if (file.layer.chainId.equals(chain)) {
        parent = chain;
        continue;
      }
    }
    let layer: Layer | undefined;
    try {
      layer = await layers.get(chain);
    } catch (e) {
      if (!isStoreError(e, LayerErrorCode.NotFound)) throw e;
    }
    if (layer && !(await layers.driver.exists(layer.cacheId))) {
      // Its driver dir is gone (a damaged root): taking the chain as it is would print "Loaded
      // image" for an image without data. Registered again below, the fresh copy takes its place
      // under the same chain ID; the handle taken is released with the others.
      held.push(layer);
      layer = undefined;
    }
    if (layer) {
      held.push(layer);
      // moby takes the chain without looking at the file; we still refuse a file that lies.
      if (file.kind !== "layer") {
        const actual = await digestStream(decompress(file.kind === "memory" ? [file.bytes] : spool.read(file.file)));
        if (!actual.equals(diffId)) throw mismatch(what, layerPlan.path, diffId, actual);
      }
      parent = chain;
      continue;
    }
    let source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>;
    let total: number;
    if (file.kind === "memory") {
      source = [file.bytes];
      total = file.bytes.byteLength;
    } else if (file.kind === "spool") {
      source = spool.read(file.file);
      total = file.size;
    } else {
      source = file.layer.tarStream();
      total = file.size;
    }
    const counted = progressReader(source, { status: "Loading layer", id: progressId(layerPlan.path), total, ...(onProgress ? { onProgress } : {}) });
    try {
      // A layer rebuilt from the store is its tar, not the archive's blob: only its diff ID is checked.
      const registered = await layers.register(counted, parent, { expected: file.kind === "layer" ? { diffId } : expected, signal });
      held.push(registered.layer);
    } catch (e) {
      if (signal?.aborted) throw signal.reason;
      throw (
        layerRefusal(what, layerPlan.path, e) ??
        new ArchiveError(ArchiveErrorCode.Invalid, `${what}: ${(e as Error)?.message ?? e}`, { cause: e, details: { file: layerPlan.path } })
      );
    }
    parent = chain;
  }
}

function checkBlobDigest(what: string, layer: PlannedLayer, actual: Digest | undefined, diffId: Digest): void {
  if (!layer.digest) return;
  // An uncompressed blob's digest is its diff ID, already checked.
  if (layer.digest.equals(diffId)) return;
  if (actual && !actual.equals(layer.digest)) {
    throw new ArchiveError(ArchiveErrorCode.LayerMismatch, `${what}: blob has digest ${actual}, its descriptor says ${layer.digest}`, {
      details: { file: layer.path, expected: layer.digest.toString(), actual: actual.toString() },
    });
  }
}

function checkBlobSize(what: string, layer: PlannedLayer, actual: number): void {
  if (layer.size === undefined || layer.size === actual) return;
  throw new ArchiveError(ArchiveErrorCode.LayerMismatch, `${what}: blob has ${actual} bytes, its descriptor says ${layer.size} bytes`, {
    details: { file: layer.path, expectedSize: layer.size, actualSize: actual },
  });
}

function mismatch(what: string, path: string, expected: Digest, actual: Digest): ArchiveError {
  return new ArchiveError(ArchiveErrorCode.LayerMismatch, `${what}: invalid diffID: the config expects ${expected}, the layer file has ${actual}`, {
    details: { file: path, expected: expected.toString(), actual: actual.toString() },
  });
}

/** Creates the images, links parents, moves tags; undone as a whole if any step fails. */
async function commit(plan: LoadPlan, checked: CheckedImage[], stores: ArchiveStores): Promise<LoadResult> {
  const { images, references } = stores;
  const createdIds: Digest[] = [];
  const tagUndo: Array<{ ref: NamedReference; previous: Digest | undefined }> = [];
  const messages: string[] = [];
  const loaded: LoadedImage[] = [];
  try {
    const ids: Digest[] = [];
    for (const img of checked) {
      const id = digestFromBytes(img.plan.config);
      const existed = images.has(id);
      await images.create(img.plan.config);
      if (!existed) createdIds.push(id);
      ids.push(id);
    }
    // Parent links as moby's validatedParentLinks: only to an image loaded from the same archive.
    for (const [i, img] of checked.entries()) {
      const parentText = img.plan.parent;
      if (!parentText) continue;
      const parentIndex = ids.findIndex((id) => id.toString() === parentText);
      if (parentIndex < 0 || ids[parentIndex]!.equals(ids[i]!)) continue;
      if (!checkValidParent(img.config, checked[parentIndex]!.config)) {
        throw new ArchiveError(ArchiveErrorCode.Invalid, `${img.plan.what}: image ${parentText} is not a valid parent for ${ids[i]}`, {
          details: { parent: parentText },
        });
      }
      if (images.getParent(ids[i]!)?.equals(ids[parentIndex]!)) continue;
      await images.setParent(ids[i]!, ids[parentIndex]!);
    }
    let lastTagCount = 0;
    for (const [i, img] of checked.entries()) {
      const id = ids[i]!;
      const tags: string[] = [];
      for (const ref of img.tags) {
        let previous: Digest | undefined;
        try {
          previous = references.get(ref);
        } catch {
          previous = undefined;
        }
        if (previous && !previous.equals(id)) {
          messages.push(`The image ${ref.familiar} already exists, renaming the old one with ID ${previous} to empty string`);
        }
        tagUndo.push({ ref, previous });
        await references.add(ref, id, true);
        messages.push(`Loaded image: ${ref.familiar}`);
        tags.push(ref.familiar);
      }
      lastTagCount = img.tags.length;
      loaded.push({ id, tags });
    }
    // moby prints the IDs only when the last image of the archive had no tag.
    if (lastTagCount === 0) for (const img of loaded) messages.push(`Loaded image ID: ${img.id}`);
    return { format: plan.format, images: loaded, messages };
  } catch (e) {
    for (const { ref, previous } of tagUndo.reverse()) {
      if (previous) await references.add(ref, previous, true).catch(() => undefined);
      else await references.delete(ref).catch(() => undefined);
    }
    // An image a tag still points at stays (a tag write that failed after it landed, and could
    // not be undone on a full disk): a dangling tag would be damage, an image kept is not.
    for (const id of createdIds.reverse()) {
      if (references.references(id).length === 0) await images.delete(id).catch(() => undefined);
    }
    throw e;
  }
}
