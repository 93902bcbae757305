export { DistributionError, DistributionErrorCode } from "./errors";
export {
  DistributionMetadata,
  checkV2MetadataHmac,
  computeV2MetadataHmac,
  distributionDirMode,
  distributionFileMode,
  encodeV2Metadata,
  maxV2Metadata,
} from "./distribution-metadata";
export type { DistributionMetadataOptions, V2Metadata } from "./distribution-metadata";
export { pullAllTags, pullImage } from "./pull/pull-image";
export type { PullOptions, PullResult, PullStores } from "./pull/pull-image";
export { PartialBlob, removeStalePartials } from "./pull/partial-blob";
export { encodeImageManifest } from "./push/image-manifest";
export type { EncodedManifest, ManifestDescriptor } from "./push/image-manifest";
export { pushImage } from "./push/push-image";
export type { PushOptions, PushResult, PushStores } from "./push/push-image";
