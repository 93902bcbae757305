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
