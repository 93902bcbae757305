import type { LoadResult } from "@store/archive";
import type { StoreBackend } from "@store/backend";
import type { Digest } from "@store/digest";
import type {
  DeleteResponse,
  HistoryItem,
  ImageInspect,
  ImageService,
  ImageStore,
  ImageSummary,
  ListOptions,
  PruneOptions,
  PruneReport,
  RemoveOptions,
} from "@store/image";
import type { DistributionMetadata, PullResult, PushResult } from "@store/distribution";
import type { AuthConfig, Platform, RegistryClient } from "@store/registry";
import type { NamedReference, ReferenceStore } from "@store/reference";
import type { LayerMetadataStore, LayerStore } from "@store/layer";
import type { DiskUsage } from "./disk-usage";
import type { ImportOptions, ImportResult } from "./import-image";
import type { MountInfo, MountedLayer } from "./mounts";
import type { VerifyReport } from "./verify-store";
import type { RepairReport } from "./root-leftovers";

/**
 * How old a leftover must be before `repair` removes it. A load or pull in another process
 * creates its overlay2 dir before the layerdb entry that owns it, and a pull's partial download
 * waits to be resumed: an hour is far longer than any layer takes to unpack (minutes for the
 * largest), so nothing still being written is taken, and short enough that a repair run after a
 * crash finds the crash's leftovers. dockerd itself never removes them.
 */
export const DEFAULT_REPAIR_GRACE_MS = 60 * 60 * 1000;

/** Options of {@link StoreService.repair}. */
export interface RepairOptions extends WorkOptions {
  /** Only what has not changed for this long is removed (default {@link DEFAULT_REPAIR_GRACE_MS}). */
  graceMs?: number;
}
import type { WorkOptions } from "./work-options";

/** Options of {@link StoreService.load}. */
export interface LoadOptions extends WorkOptions {
  /** No progress events (`docker load -q`); the result's messages stay. */
  quiet?: boolean;
  /** Where to spool archive entries that cannot be registered yet (default `<root>/tmp`). */
  tempDir?: string;
}

/** Options of {@link StoreService.save}. */
export interface SaveOptions extends WorkOptions {
  /** "docker" (default): the docker-archive dockerd 20.10 writes; "oci": an OCI image layout. */
  format?: "docker" | "oci";
}

/** Options of {@link StoreService.pull}. */
export interface PullOptions extends WorkOptions {
  /** The platform to pick from a multi-platform image (default: this host's). */
  platform?: Platform;
  /** Layers downloaded at once (default 3, as dockerd's max-concurrent-downloads). */
  concurrency?: number;
  /** Every tag of the repository (`docker pull -a`); the name must not carry a tag or digest. */
  allTags?: boolean;
  /** Credentials for this pull only (a daemon's `X-Registry-Auth`); default: the registry client's store. */
  credentials?: AuthConfig;
}

/** Options of {@link StoreService.push}. */
export interface PushOptions extends WorkOptions {
  /** Layers uploaded at once (default 5, as dockerd's max-concurrent-uploads). */
  concurrency?: number;
  /** Credentials for this push only (a daemon's `X-Registry-Auth`); default: the registry client's store. */
  credentials?: AuthConfig;
}

/**
 * The stores of one dockerd-style root, composed once, and the operations a front end offers on
 * them (the `store` CLI now, a daemon serving the Docker Engine API next). Laid out exactly as
 * dockerd's data root, so dockerd and this service can take turns on one root.
 *
 * Image names (`refOrId`) are what docker accepts: an ID, a unique ID prefix, or a reference.
 * Operations that do work take `{ signal, onProgress }`: aborted, they undo what they half wrote.
 */
export interface StoreService {
  /** The data root, resolved. */
  readonly root: string;
  /** The graph driver's name ("overlay2"). */
  readonly driverName: string;
  /** `<root>/image/<driver>`: imagedb, layerdb, repositories.json, distribution, blobs. */
  readonly imageRoot: string;
  /** "write": this opening holds the root's writer lock; "read": writing operations throw. */
  readonly access: "read" | "write";

  /** layerdb and the graph driver. */
  readonly layers: LayerStore;
  readonly layerMetadata: LayerMetadataStore;
  /** The imagedb backend (image configs): the root's directory, memory or S3. */
  readonly backend: StoreBackend;
  /**
   * Content by digest for blobs that are not image configs (compressed layers, manifests), at
   * `<root>/image/<driver>/blobs`; dockerd ignores that directory. Nothing writes to it yet.
   */
  readonly blobs: StoreBackend;
  readonly images: ImageStore;
  /** Tags (repositories.json). */
  readonly references: ReferenceStore;
  readonly distribution: DistributionMetadata;
  /** The Engine API's image endpoints over the stores (what list, inspect, rmi… use). */
  readonly imageService: ImageService;
  /** The registry client pull and push use (its token cache shared by every operation). */
  readonly registry: RegistryClient;

  /** `docker images`: summaries as `GET /images/json` gives them. */
  list(options?: ListOptions): ImageSummary[];
  /** `docker image inspect`, as `GET /images/{name}/json`. */
  inspect(refOrId: string): Promise<ImageInspect>;
  /** `docker history`, newest step first. */
  history(refOrId: string): Promise<HistoryItem[]>;
  /** The image ID a name resolves to; ERR_IMAGE_NOT_FOUND ("No such image: …"). */
  resolve(refOrId: string): Digest;

  /**
   * `docker load`: a docker-archive or OCI layout (plain, gzip or zstd) into the stores, with
   * "Loading layer" progress per layer. On error or abort the stores are left as they were.
   */
  load(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: LoadOptions): Promise<LoadResult>;
  /**
   * `docker save`: the named images as an archive, streamed. Names are resolved and layers held
   * at the first read, so a bad name fails before the first byte. "Saving" progress (bytes out).
   */
  save(names: readonly string[], options?: SaveOptions): AsyncGenerator<Uint8Array>;
  /** `docker import`: a tarball as a one-layer image (see {@link ImportOptions}). */
  import(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: ImportOptions): Promise<ImportResult>;
  /**
   * `docker pull`: the image a reference names (`busybox`, `host:port/name:tag`, `name@sha256:…`)
   * from its registry, with docker's progress events ("Pulling fs layer", "Downloading",
   * "Pull complete", …). Layers the root has are not fetched; a pull killed part-way resumes
   * its downloads. On error or abort nothing new is visible. One result, or one per tag with
   * `allTags`.
   */
  pull(name: string, options?: PullOptions): Promise<PullResult[]>;
  /**
   * `docker push NAME[:TAG]`: the image the tag names to its registry, with docker's progress
   * events ("Preparing", "Pushing", "Pushed", "Layer already exists", "Mounted from …").
   * Blobs the registry has are not sent; blobs kept from a pull or load are sent as they were.
   */
  push(name: string, options?: PushOptions): Promise<PushResult>;
  /** `docker tag`: points `target` at the image, moving it if it pointed elsewhere. */
  tag(refOrId: string, target: string | NamedReference): Promise<NamedReference>;
  /** `docker rmi` of one image, with dockerd's conflict rules: what was untagged and deleted. */
  remove(refOrId: string, options?: RemoveOptions): Promise<DeleteResponse[]>;
  /** `docker image prune`. */
  prune(options?: PruneOptions): Promise<PruneReport>;

  /** `docker system df`: images, layers and mounts. */
  diskUsage(): Promise<DiskUsage>;
  /** Checks every image config and every layer against its digest (see {@link VerifyReport}). */
  verify(options?: WorkOptions): Promise<VerifyReport>;
  /**
   * `podman system check --repair` for what nothing references: removes leftover overlay2 dirs,
   * dangling or unreadable distribution records and partial downloads older than `graceMs`
   * (default {@link DEFAULT_REPAIR_GRACE_MS}), holding the root's writer lock (taken for the
   * duration when the store was opened read-only). Damage that something references (a corrupt
   * layer an image uses) is not touched: `verify` reports it.
   */
  repair(options?: RepairOptions): Promise<RepairReport>;

  /** The read-write layers (mounts) in layerdb, with their merged directories. */
  mounts(): Promise<MountedLayer[]>;
  /**
   * A read-write layer over the image's top layer, mounted (a container's layer, as dockerd
   * makes them); it outlives the service until {@link unmount}. Name default: a random ID.
   */
  mount(refOrId: string, options?: { name?: string }): Promise<MountedLayer>;
  /** Unmounts the mount a name, unique name prefix or merged directory names, and removes its layer. */
  unmount(nameOrDir: string): Promise<MountInfo>;

  /**
   * Releases the backends and the writer lock. The layer store is deliberately left open:
   * closing it unmounts everything under the driver's home, mounts of dockerd and of `mount`.
   */
  close(): Promise<void>;
}
