export { loadArchive } from "./load-archive";
export type { LayerProgress, LoadedImage, LoadOptions, LoadResult } from "./load-archive";
export type { ArchiveStores } from "./archive-stores";
export { ArchiveError, ArchiveErrorCode } from "./errors";
