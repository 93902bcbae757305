export { createBackend } from "./create-backend";
export type { BackendDriver, StageHint, StagedWrite } from "./driver";
export { BackendError, BackendErrorCode } from "./errors";
export { assertMetadataKey, contentKey, contentRoot, metadataKey, metadataPrefix, metadataRoot } from "./keys";
export type { BackendCapabilities, SetStreamOptions, StoreBackend } from "./store-backend";
