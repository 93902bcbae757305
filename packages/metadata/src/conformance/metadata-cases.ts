import { casCases } from "./cas-cases";
import { metadataCloseCases } from "./close-cases";
import { keyCases } from "./key-cases";
import type { MetadataCase } from "./metadata-fixture";
import { metadataPersistenceCases } from "./persistence-cases";
import { recordCases } from "./record-cases";

/** Every case of the metadata store suite, concern by concern. */
export const metadataStoreCases: readonly MetadataCase[] = [...recordCases, ...keyCases, ...casCases, ...metadataPersistenceCases, ...metadataCloseCases];
