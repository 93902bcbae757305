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

// The machinery every suite shares.
export { registerSuite } from "./register-suite";
export { runCase, runCases } from "./run-cases";
export type { CaseResult, CaseStatus, ConformanceCase, SuiteFixtureHooks } from "./conformance-case";

// Helpers for backend-specific tests written in the suite's style.
export { expectStoreError } from "./support/expect-store-error";
export { generatedDigest, generatedStream } from "./support/generated-stream";
export type { GeneratedStreamOptions } from "./support/generated-stream";
export { MemoryProbe } from "./support/memory-probe";
