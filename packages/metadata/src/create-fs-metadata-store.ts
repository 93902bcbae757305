import { createMetadataStore } from "./create-metadata-store";
import { FsMetadataDriver, type FsMetadataStoreOptions } from "./fs-metadata-driver";
import type { MetadataStore } from "./metadata-store";

/**
 * A MetadataStore of plain files under `options.root`: conditional (a lock file per record),
 * persistent, shared by every process on the machine. Rooted at dockerd's `<root>/image/overlay2`,
 * the record `repositories.json` is dockerd's tag file, byte for byte.
 */
export function createFsMetadataStore(options: FsMetadataStoreOptions): MetadataStore {
  return createMetadataStore(new FsMetadataDriver(options));
}
