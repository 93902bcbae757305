import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { StoreBackend } from "@store/backend";
import { createFsBackend } from "@store/backend-fs";
import type { Digest } from "@store/digest";
import { registerOverlay2 } from "@store/graphdriver-overlay2";
import { createFsMetadataFiles } from "@store/distribution";
import { type ContainerInfo, type ImageService, type ImageStore, createImageService, createImageStore } from "@store/image";
import { type ReferenceStore, createReferenceStore } from "@store/reference";
import { type LayerMetadataStore, type LayerStore, createFsLayerMetadataStore, createLayerStore } from "@store/layer";
import { CliError, CliErrorCode } from "./errors";
import type { BackendKind } from "./global-options";

/** Where the store is and how to open it: the global options, resolved against the environment. */
export interface StoreOptions {
  /** dockerd-style data root. */
  root: string;
  /** Graph driver name (overlay2). */
  driver: string;
  backend: BackendKind;
  s3?: {
    bucket: string;
    prefix?: string;
    endpoint?: string;
    region?: string;
    /** Static credentials; without them the SDK's default chain (env, profile, instance role). */
    credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  };
}

/** A read-write layer made by `store mount` (dockerd: a container's layer). */
export interface MountInfo {
  name: string;
  mountId: string;
  /** Chain ID of the layer it sits on. */
  parent: Digest | undefined;
}

/**
 * The stores of one root, composed once: layerdb and the driver's home, the imagedb on the
 * chosen backend, repositories.json, and the image service over them.
 * Laid out exactly as dockerd's data root, so dockerd and this CLI can take turns on one root.
 */
export interface StoreContext {
  readonly options: StoreOptions;
  /** `<root>/image/<driver>`. */
  readonly imageRoot: string;
  readonly layers: LayerStore;
  readonly layerMetadata: LayerMetadataStore;
  readonly backend: StoreBackend;
  readonly images: ImageStore;
  readonly references: ReferenceStore;
  readonly service: ImageService;
  /** The read-write layers (mounts) recorded in layerdb when the store was opened. */
  readonly mounts: MountInfo[];
  /** The images a mount stands on, as containers to the image service (rmi refuses them). */
  containers(): ContainerInfo[];
  /**
   * Releases the backend's resources. The layer store is deliberately left open: closing it
   * unmounts everything under the driver's home, mounts of dockerd and of `store mount` included.
   */
  close(): Promise<void>;
}

async function openBackend(options: StoreOptions, imageRoot: string): Promise<StoreBackend> {
  switch (options.backend) {
    case "fs":
      return createFsBackend({ root: join(imageRoot, "imagedb") });
    // The memory and S3 backends load on demand: the AWS SDK alone took ~70 ms of every
    // command's start (node parsing its CommonJS), for stores that never touch S3.
    case "memory": {
      const { createMemoryBackend } = await import("@store/backend-memory");
      return createMemoryBackend();
    }
    case "s3": {
      const s3 = options.s3;
      if (!s3?.bucket) {
        throw new CliError(CliErrorCode.S3Bucket, "--backend s3 needs a bucket: --s3-bucket or STORE_S3_BUCKET");
      }
      const { createS3Backend } = await import("@store/backend-s3");
      return createS3Backend({
        bucket: s3.bucket,
        ...(s3.prefix ? { prefix: s3.prefix } : {}),
        clientConfig: {
          ...(s3.region ? { region: s3.region } : {}),
          ...(s3.credentials ? { credentials: s3.credentials } : {}),
          // An explicit endpoint is an S3-compatible server (MinIO, s3rver…): path-style
          // addressing, and checksums only where required, which they all understand.
          ...(s3.endpoint
            ? {
                endpoint: s3.endpoint,
                forcePathStyle: true,
                requestChecksumCalculation: "WHEN_REQUIRED" as const,
                responseChecksumValidation: "WHEN_REQUIRED" as const,
              }
            : {}),
        },
      });
    }
  }
}

/**
 * Opens (creating on first use) the stores under `options.root`. With `mustExist`, a root that
 * does not exist is ERR_CLI_NO_STORE instead (commands that only read never create a store).
 */
export async function openStore(options: StoreOptions, open: { mustExist?: boolean } = {}): Promise<StoreContext> {
  registerOverlay2();
  const root = resolve(options.root);
  if (open.mustExist && !existsSync(root)) {
    throw new CliError(CliErrorCode.NoStore, `no store at ${root}: it does not exist (load or import an image to create one)`, { details: { root } });
  }
  const imageRoot = join(root, "image", options.driver);
  // dockerd's modes: the root readable by the daemon only, image/ and image/<driver>/ 0700.
  await mkdir(root, { recursive: true, mode: 0o711 });
  await mkdir(imageRoot, { recursive: true, mode: 0o700 });
  const layerMetadata = createFsLayerMetadataStore({ root: join(imageRoot, "layerdb") });
  const layers = await createLayerStore({ root, driver: options.driver, metadata: layerMetadata });
  const backend = await openBackend({ ...options, root }, imageRoot);
  try {
    // A local cache of the few config fields listing needs, beside (not inside) dockerd's files,
    // so opening thousands of images reads one file instead of every config. Content-addressed
    // configs never change under their ID; `store verify` still re-hashes every one.
    const recordCache = options.backend === "memory" ? undefined : createFsMetadataFiles(join(imageRoot, "store-cache"));
    const images = await createImageStore({ backend, layers, recordCache });
    const references = await createReferenceStore({ path: join(imageRoot, "repositories.json") });
    const mounts: MountInfo[] = [];
    for (const name of (await layerMetadata.list()).mounts) {
      const m = await layerMetadata.getMount(name);
      if (m) mounts.push({ name, mountId: m.mountId, parent: m.parent });
    }
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
    const service = createImageService({ images, references, driverName: options.driver, containers });
    return {
      options: { ...options, root },
      imageRoot,
      layers,
      layerMetadata,
      backend,
      images,
      references,
      service,
      mounts,
      containers,
      async close() {
        await backend.close();
      },
    };
  } catch (e) {
    await backend.close().catch(() => undefined);
    throw e;
  }
}
