import type { RegistryClientOptions } from "@store/registry";
import type { BackendKind, S3Options } from "@store/service";

/** Where the store is and how to open it: the global options, resolved against the environment. */
export interface StoreOptions {
  /** dockerd-style data root. */
  root: string;
  /** Graph driver name (overlay2). */
  driver: string;
  backend: BackendKind;
  s3?: S3Options;
  /** How pull, push and login reach registries: docker's config dir, insecure registries. */
  registry: RegistryClientOptions;
  maxConcurrentDownloads?: number;
  maxConcurrentUploads?: number;
}
