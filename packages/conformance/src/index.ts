// The StoreBackend suite.
export { backendConformance } from "./backend/backend-conformance";
export { backendCases } from "./backend/backend-cases";
export { backendHooks } from "./backend/backend-hooks";
export { defaultBackendSuiteOptions } from "./backend/backend-fixture";
export type { BackendCase, BackendFactory, BackendFixture, BackendSuiteOptions } from "./backend/backend-fixture";
export { walkCases } from "./backend/walk-cases";
export { setGetCases } from "./backend/set-get-cases";
export { invalidMetadataKeys, metadataCases } from "./backend/metadata-cases";
export { streamCases } from "./backend/stream-cases";
export { blobCases } from "./backend/blob-cases";
export { digestCases } from "./backend/digest-cases";
export { infoCases } from "./backend/info-cases";
export { createOnlyCases } from "./backend/create-only-cases";
export { sharedCases } from "./backend/shared-cases";
export { concurrencyCases } from "./backend/concurrency-cases";
export { persistenceCases } from "./backend/persistence-cases";
export { closeCases } from "./backend/close-cases";

// The MetadataStore suite.
export * from "./metadata/index";

// The machinery every suite shares.
export { registerSuite } from "./register-suite";
export { runCase, runCases } from "./run-cases";
export type { CaseResult, CaseStatus, ConformanceCase, SuiteFixtureHooks } from "./conformance-case";

// Helpers for backend-specific tests written in the suite's style.
export { expectStoreError } from "./support/expect-store-error";
export { generatedDigest, generatedStream } from "./support/generated-stream";
export type { GeneratedStreamOptions } from "./support/generated-stream";
export { MemoryProbe } from "./support/memory-probe";

// The image suites (restore, chain, walk): @store/image's image store over any backend.
export { imageConformance } from "./image/image-conformance";
export { imageCases } from "./image/image-cases";
export { imageHooks } from "./image/image-hooks";
export type { ImageBackendFixture, ImageCase, ImageFactory, ImageFixture, ImageSuiteOptions } from "./image/image-fixture";
export { restoreCases } from "./image/restore-cases";
export { chainCases } from "./image/chain-cases";
export { walkCases as imageWalkCases } from "./image/walk-cases";
export { imageConfig } from "./image/image-configs";
export { countingLayers } from "./image/layer-side";
export type { CountingLayers, LayerSide, LayerSideFactory } from "./image/layer-side";
export { FakeLayerStore } from "./image/fake-layer-store";
export { fakeDiffId, fakeLayerSide } from "./image/fake-layer-side";
export { layerStoreSide } from "./image/layer-store-side";
export type { LayerStoreLocation } from "./image/layer-store-side";
export { tinyTar } from "./image/tiny-tar";
