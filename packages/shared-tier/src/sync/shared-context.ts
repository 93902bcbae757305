import type { StoreBackend } from "@store/backend";
import type { MetadataStore } from "@store/metadata";
import type { EnsureBlob } from "../ingest/ensure-blob";
import type { HostLeases } from "../leases/host-leases";
import type { ReferenceLog } from "../references/reference-log";

/** The parts of one shared tier that copying images in and out of it works with. */
export interface SharedContext {
  /** Content by digest: configs, compressed layer blobs, manifests and indexes. */
  blobs: StoreBackend;
  /** Leases, claims, collections and the reference log's records. */
  metadata: MetadataStore;
  hostId: string;
  log: ReferenceLog;
  leases: HostLeases;
  ensureBlob: EnsureBlob;
}
