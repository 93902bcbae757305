import { type StoreBackend, createBackend } from "@store/backend";
import type { FsApi } from "./fs-api";
import { FsDriver } from "./fs-driver";

export interface FsBackendOptions {
  /** The imagedb directory, e.g. `/var/lib/docker/image/overlay2/imagedb`. */
  root: string;
  /** A `node:fs/promises`-compatible API (Node's own by default). */
  fs?: FsApi;
}

/**
 * A StoreBackend on a local imagedb directory: what it writes dockerd reads, and what dockerd
 * wrote it reads (temp-file leftovers included, which walk skips).
 */
export function createFsBackend(options: FsBackendOptions): StoreBackend {
  return createBackend(new FsDriver(options));
}
