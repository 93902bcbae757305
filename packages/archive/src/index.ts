export { loadArchive } from "./load-archive";
export type { LoadedImage, LoadOptions, LoadResult } from "./load-archive";
export { saveArchive } from "./save-archive";
export { writeBatched } from "./batched-write";
export type { SaveOptions } from "./save-archive";
export type { ArchiveStores } from "./archive-stores";
export { ArchiveError, ArchiveErrorCode } from "./errors";
export { createV1Id, encodeV1Image, emptyV1Image, v1ImageOf } from "./v1-image";
export type { V1Image } from "./v1-image";
