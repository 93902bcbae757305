import { createMetadataStore } from "./create-metadata-store";
import { MemoryMetadataDriver } from "./memory-metadata-driver";
import type { MetadataStore } from "./metadata-store";

/** A MetadataStore in memory, for tests and single-process use: conditional, not persistent, not shared. */
export function createMemoryMetadataStore(): MetadataStore {
  return createMetadataStore(new MemoryMetadataDriver());
}
