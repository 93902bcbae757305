export { createBackend } from "./create-backend";
export type { BackendDriver, ListOptions, ObjectStat, StageHint, StagedWrite, WriteOptions } from "./driver";
export { BackendError, BackendErrorCode } from "./errors";
export { contentKey, contentRoot, metadataKey } from "./keys";
export type { BackendCapabilities, ContentInfo, SetFileOptions, SetStreamOptions, StoreBackend, WalkFilter } from "./store-backend";
