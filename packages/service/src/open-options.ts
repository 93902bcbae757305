import type { StoreBackend } from "@store/backend";
import type { DriverFactory, GraphDriver } from "@store/graphdriver";
import type { RegistryClient, RegistryClientOptions } from "@store/registry";
import type { SharedTier } from "@store/shared-tier";

/** Where image configs (the imagedb) live: the root's own directory, memory, or an S3 bucket. */
export type BackendKind = "fs" | "memory" | "s3";

/** An S3 (or S3-compatible) bucket for the imagedb. */
export interface S3Options {
  bucket: string;
  prefix?: string;
  /** An S3-compatible server (MinIO, s3rver…): path-style addressing, checksums only where required. */
  endpoint?: string;
  region?: string;
  /** Static credentials; without them the SDK's default chain (env, profile, instance role). */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/** A graph driver made by a factory (the registry's own shape, without the registry). */
export interface DriverFactorySpec {
  /** The driver's name: its home is `<root>/<name>`, its image dir `<root>/image/<name>`. */
  name: string;
  factory: DriverFactory;
  /** Driver options (dockerd's `--storage-opt`). */
  options?: Record<string, string>;
}

/**
 * The graph driver: a driver instance, a factory, or a name. "overlay2" is built in; another
 * name is looked up in `@store/graphdriver`'s registry (a convenience for drivers registered by
 * plugins), so nothing needs registering first.
 */
export type DriverSpec = string | GraphDriver | DriverFactorySpec;

/** How to open the stores of one root. */
export interface OpenStoreOptions {
  /** A dockerd-style data root (`/var/lib/docker`): the same files, the same semantics. */
  root: string;
  /** Default "overlay2". */
  driver?: DriverSpec;
  /** Where image configs live (default "fs", under the root); or a backend already made. */
  backend?: BackendKind | StoreBackend;
  /** The bucket for `backend: "s3"`. */
  s3?: S3Options;
  /**
   * "write" (default): the opening takes the root's writer lock, held until `close()`, so that
   * writers in other processes take turns. "read": no lock, and writing operations throw
   * ERR_SERVICE_READ_ONLY (reads need no turn: every file changes atomically).
   */
  access?: "read" | "write";
  /** false: a root that does not exist is ERR_SERVICE_NO_STORE instead of a new empty store. */
  create?: boolean;
  /** How long a writer waits for the lock before ERR_INTERNAL_LOCKED (default 10 minutes). */
  lockTimeoutMs?: number;
  /** Told once when the writer lock is held by another process (its PID when known). */
  onLockWait?: (owner: number | undefined) => void;
  /** Ends the wait for the writer lock (and the opening) with the signal's reason. */
  signal?: AbortSignal;
  /**
   * How pull and push reach registries (credentials, insecure registries, certificates, retries),
   * or a client made already (a daemon shares one, with its token cache, across requests).
   */
  registry?: RegistryClientOptions | RegistryClient;
  /** Layers a pull downloads at once, unless the pull says otherwise (dockerd's default 3). */
  maxConcurrentDownloads?: number;
  /** Layers a push uploads at once, unless the push says otherwise (dockerd's default 5). */
  maxConcurrentUploads?: number;
  /**
   * A shared tier (one S3 bucket shared by many hosts: `openS3SharedTier`): what this store loads,
   * imports, pulls and tags is published there, what other hosts published is listed here and
   * copied down on demand. The store closes it on close().
   */
  shared?: SharedTier;
}
