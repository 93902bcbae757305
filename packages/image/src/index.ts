export { ImageError, ImageErrorCode } from "./errors";
export { compareTime, formatGoTime, isZeroTime, nowGoTime, parseGoTime, unixSeconds, zeroTime, goTimeFromDate } from "./go-time";
export type { GoTime } from "./go-time";
export type {
  ContainerConfig,
  DockerImageConfig,
  HealthConfig,
  HistoryEntry,
  ImageConfig,
  OciImageConfig,
  RootFSConfig,
} from "./image-config";
export { configLabels, imageIdOf, parseImageConfig } from "./image";
export type { ConfigName } from "./image";
export type { Image, ImageHistory, ParsedImageConfig } from "./image";
export type { ImageRecord } from "./image-record";
export { createImageStore } from "./image-store";
export type { ImageStore, ImageStoreOptions } from "./image-store";
export type { ImageProblem, ImageStoreProblem, RecordCacheProblem } from "./restore";
export { type ConfigStamp, recordCacheKey } from "./record-cache";
export { Filters } from "./list-filters";
export type { FilterInput } from "./list-filters";
export { createImageService } from "./image-service";
export type { ImageService, ImageServiceOptions } from "./image-service";
export type { ImageSummary, ListOptions } from "./image-list";
export { goContainerConfig } from "./image-inspect";
export type { HistoryItem, ImageInspect } from "./image-inspect";
export type { DeleteResponse, PruneOptions, PruneReport, RemoveOptions } from "./image-delete";
export { truncateId } from "./resolve-image";
export type { ContainerInfo } from "./resolve-image";
export { applyChanges } from "./change-instructions";
export type { RunConfig } from "./change-instructions";
export { hostPlatform, importConfig } from "./import-config";
export type { ImportConfigOptions } from "./import-config";
