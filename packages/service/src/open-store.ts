import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { loadArchive, saveArchive } from "@store/archive";
import type { StoreBackend } from "@store/backend";
import { createFsBackend } from "@store/backend-fs";
import { DistributionMetadata, pullAllTags, pullImage, pushImage } from "@store/distribution";
import { type ContainerInfo, createImageService, createImageStore } from "@store/image";
import { createFsMetadataStore } from "@store/metadata";
import { createReferenceStore, repositoriesKey } from "@store/reference";
import { RegistryClient } from "@store/registry";
import { progressReader } from "@store/internal";
import { createFsLayerMetadataStore, createLayerStore } from "@store/layer";
import { abortable, cancellable } from "./abortable";
import { fsConfigStamp } from "./config-stamp";
import { diskUsage } from "./disk-usage";
import { ServiceError, ServiceErrorCode } from "./errors";
import { importImage } from "./import-image";
import { allTagsReference, pullReference, pushReference } from "./pull-reference";
import { type MountInfo, findMount, mergedDir, mountImage, readMounts, removeMount } from "./mounts";
import { openBackend } from "./open-backend";
import { driverName, openDriver } from "./open-driver";
import type { OpenStoreOptions } from "./open-options";
import { DEFAULT_REPAIR_GRACE_MS, type StoreService } from "./store-service";
import { findLeftovers, removeLeftovers } from "./root-leftovers";
import { withSharedTier } from "./shared-store";
import { verifyStore } from "./verify-store";
import { type WriterLock, acquireWriterLock } from "./writer-lock";

/**
 * Opens (creating on first use, unless `create: false`) the stores under `options.root`, laid
 * out as dockerd's data root: the graph driver's home `<root>/<driver>`, layerdb, the imagedb on
 * the chosen backend, repositories.json, distribution metadata, and a content store for other
 * blobs under `<root>/image/<driver>`. A writing opening (the default) first takes the root's
 * writer lock, held until `close()`.
 */
export async function openStore(options: OpenStoreOptions): Promise<StoreService> {
  const root = resolve(options.root);
  const access = options.access ?? "write";
  if (options.create === false && !existsSync(root)) {
    throw new ServiceError(ServiceErrorCode.NoStore, `no store at ${root}: it does not exist (load or import an image to create one)`, {
      details: { root },
    });
  }
  const driverSpec = options.driver ?? "overlay2";
  const name = driverName(driverSpec);
  const imageRoot = join(root, "image", name);
  // dockerd's modes: the root readable by the daemon only, image/ and image/<driver>/ 0700.
  await mkdir(root, { recursive: true, mode: 0o711 });
  let lock: WriterLock | undefined;
  if (access === "write") {
    lock = await acquireWriterLock(root, {
      ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
      ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  }
  const opened: StoreBackend[] = [];
  try {
    options.signal?.throwIfAborted(); // aborted while waiting: do not start once the turn comes
    // The driver first: an unknown or unsupported one leaves no image/<name> directory behind.
    const driver = await openDriver(root, driverSpec);
    await mkdir(imageRoot, { recursive: true, mode: 0o700 });
    const layerMetadata = createFsLayerMetadataStore({ root: join(imageRoot, "layerdb") });
    const layers = await createLayerStore({ root, driver, metadata: layerMetadata });
    const backendKind = typeof options.backend === "object" ? undefined : (options.backend ?? "fs");
    const backend = typeof options.backend === "object" ? options.backend : await openBackend(backendKind!, imageRoot, options.s3);
    opened.push(backend);
    const blobs = createFsBackend({ root: join(imageRoot, "blobs") });
    opened.push(blobs);
    // The mutable records of image/<driver> — tags, distribution metadata, the record cache — in
    // one metadata store, each changed by compare-and-swap, with dockerd's modes: repositories.json
    // 0600, the other files 0644; directories at the top (distribution/, store-cache/) 0700, the
    // ones inside them 0755.
    const metadata = createFsMetadataStore({
      root: imageRoot,
      fileMode: (key) => (key === repositoriesKey ? 0o600 : 0o644),
      dirMode: (dir) => (dir.includes("/") ? 0o755 : 0o700),
    });
    // A local cache of the few config fields listing needs, beside (not inside) dockerd's files,
    // so opening thousands of images reads one file instead of every config. Content-addressed
    // configs never change under their ID; `verify` still re-hashes every one.
    const recordCache = backendKind === "fs" || backendKind === "s3" ? metadata : undefined;
    // Each cached entry is trusted only while its config file's stat is unchanged: a config changed
    // on disk is read and verified again, never listed as healthy from the cache.
    const configStamp = backendKind === "fs" ? fsConfigStamp(join(imageRoot, "imagedb")) : undefined;
    const images = await createImageStore({
      backend,
      layers,
      recordCache,
      recordCacheKey: "store-cache/image-records.json",
      ...(configStamp ? { configStamp } : {}),
    });
    const references = await createReferenceStore({ store: metadata, key: repositoriesKey });
    const distribution = new DistributionMetadata({ store: metadata, prefix: "distribution" });
    const mounts: MountInfo[] = await readMounts(layerMetadata);
    const containers = (): ContainerInfo[] => {
      const out: ContainerInfo[] = [];
      for (const m of mounts) {
        if (!m.parent) continue;
        // layerdb records only the layer a mount stands on; every image whose top layer that is
        // counts as in use, which errs on the side of keeping images.
        for (const r of images.records()) if (r.chainId?.equals(m.parent)) out.push({ id: m.name, imageId: r.id, running: true });
      }
      return out;
    };
    const imageService = createImageService({ images, references, driverName: name, containers });
    const writable = (what: string) => {
      if (access !== "write") {
        throw new ServiceError(ServiceErrorCode.ReadOnly, `cannot ${what}: the store at ${root} was opened read-only`, {
          details: { root },
        });
      }
    };
    const stores = { images, layers, references };
    const ownsRegistry = !(options.registry instanceof RegistryClient);
    const registry = options.registry instanceof RegistryClient ? options.registry : new RegistryClient(options.registry);

    const service: StoreService = {
      root,
      driverName: name,
      imageRoot,
      access,
      layers,
      layerMetadata,
      backend,
      blobs,
      images,
      references,
      distribution,
      imageService,
      registry,

      list: (opts) => imageService.list(opts),
      inspect: (refOrId) => imageService.inspect(refOrId),
      history: (refOrId) => imageService.history(refOrId),
      resolve: (refOrId) => imageService.resolve(refOrId),

      async load(source, opts = {}) {
        writable("load");
        return cancellable(opts.signal, () =>
          loadArchive(abortable(source, opts.signal), stores, {
            ...(opts.quiet ? { quiet: true } : {}),
            ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
            ...(opts.tempDir ? { tempDir: opts.tempDir } : {}),
          }),
        );
      },
      save(names, opts = {}) {
        const chunks = abortable(saveArchive(names, stores, { format: opts.format ?? "docker" }), opts.signal);
        if (!opts.onProgress) return chunks;
        return progressReader(chunks, { status: "Saving", onProgress: opts.onProgress, ...(opts.signal ? { signal: opts.signal } : {}) });
      },
      async import(source, opts = {}) {
        writable("import");
        return cancellable(opts.signal, () => importImage({ layers, service: imageService }, source, opts));
      },
      async pull(name, opts = {}) {
        writable("pull");
        const { onProgress, signal, platform, concurrency, allTags, credentials } = opts;
        const ref = allTags ? allTagsReference(name) : pullReference(name);
        const pullStores = { images, layers, references, distribution, blobs };
        const pullOptions = {
          // Beside dockerd's files, which it ignores; partial downloads resume from here.
          partialDir: join(imageRoot, "partial-downloads"),
          ...(onProgress ? { onProgress } : {}),
          ...(signal ? { signal } : {}),
          ...(platform ? { platform } : {}),
          ...((concurrency ?? options.maxConcurrentDownloads) ? { concurrency: concurrency ?? options.maxConcurrentDownloads } : {}),
        };
        const repo = registry.repository(ref, credentials ? { credentials } : {});
        return cancellable(signal, async () =>
          allTags ? pullAllTags(repo, ref, pullStores, pullOptions) : [await pullImage(repo, ref, pullStores, pullOptions)],
        );
      },
      async push(name, opts = {}) {
        writable("push");
        const ref = pushReference(name);
        const { onProgress, signal, concurrency, credentials } = opts;
        return cancellable(signal, () =>
          pushImage(
            registry.repository(ref, credentials ? { credentials } : {}),
            ref,
            { images, layers, references, distribution, blobs },
            {
              ...(onProgress ? { onProgress } : {}),
              ...(signal ? { signal } : {}),
              ...((concurrency ?? options.maxConcurrentUploads) ? { concurrency: concurrency ?? options.maxConcurrentUploads } : {}),
            },
          ),
        );
      },
      async tag(refOrId, target) {
        writable("tag");
        return imageService.tag(refOrId, target);
      },
      async remove(refOrId, opts) {
        writable("remove images");
        return imageService.remove(refOrId, opts);
      },
      async prune(opts) {
        writable("prune");
        return imageService.prune(opts);
      },

      diskUsage: () => diskUsage(imageService, layers, mounts),
      verify: (opts) =>
        cancellable(opts?.signal, () => verifyStore({ backend, images, layers, layerMetadata, references, leftovers: { imageRoot, distribution } }, opts)),
      async repair(opts = {}) {
        // A read-only opening takes the writer lock for the removal only; what is removed is
        // found again under it, from disk, so a writer that ran since this opening is seen.
        const held =
          lock ??
          (await acquireWriterLock(root, {
            ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}),
            ...(options.onLockWait ? { onWait: options.onLockWait } : {}),
            ...(opts.signal ? { signal: opts.signal } : {}),
          }));
        try {
          const { leftovers } = await findLeftovers({ imageRoot, layers, distribution });
          return await removeLeftovers(leftovers, opts.graceMs ?? DEFAULT_REPAIR_GRACE_MS, layers);
        } finally {
          if (held !== lock) await held.release();
        }
      },

      async mounts() {
        return Promise.all(mounts.map(async (m) => ({ ...m, merged: await mergedDir(layers, m) })));
      },
      async mount(refOrId, opts = {}) {
        writable("mount");
        const mounted = await mountImage(layers, imageService, refOrId, opts.name);
        mounts.push({ name: mounted.name, mountId: mounted.mountId, ...(mounted.initId ? { initId: mounted.initId } : {}), parent: mounted.parent });
        return mounted;
      },
      async unmount(nameOrDir) {
        writable("unmount");
        const m = await findMount(layers, mounts, nameOrDir);
        await removeMount(layers, m);
        mounts.splice(mounts.indexOf(m), 1);
        return m;
      },

      async close() {
        try {
          if (ownsRegistry) registry.close();
          for (const b of opened) await b.close();
        } finally {
          await lock?.release();
        }
      },
    };
    return options.shared ? withSharedTier(service, options.shared) : service;
  } catch (e) {
    for (const b of opened) await b.close().catch(() => undefined);
    await lock?.release().catch(() => undefined);
    throw e;
  }
}
