export { DistributionError, DistributionErrorCode } from "./errors";
export {
  DistributionMetadata,
  checkV2MetadataHmac,
  computeV2MetadataHmac,
  createFsMetadataFiles,
  encodeV2Metadata,
  maxV2Metadata,
} from "./distribution-metadata";
export type { DistributionMetadataOptions, MetadataFiles, V2Metadata } from "./distribution-metadata";
