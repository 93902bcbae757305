// The MetadataStore suite, the `@store/metadata/conformance` subpath (the package index does not
// re-export it, so importing the store never loads vitest).
export { metadataConformance } from "./metadata-conformance";
export { metadataStoreCases } from "./metadata-cases";
export { metadataHooks } from "./metadata-hooks";
export { defaultMetadataSuiteOptions, needsConditional } from "./metadata-fixture";
export type { MetadataCase, MetadataFactory, MetadataFixture, MetadataSuiteOptions } from "./metadata-fixture";
export { recordCases } from "./record-cases";
export { invalidRecordKeys, keyCases } from "./key-cases";
export { casCases } from "./cas-cases";
export { metadataPersistenceCases } from "./persistence-cases";
export { metadataCloseCases } from "./close-cases";
