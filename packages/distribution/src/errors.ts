import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const DistributionErrorCode = {
  /** Distribution metadata that cannot be read (bad JSON, bad digest). */
  MetadataCorrupt: "ERR_DISTRIBUTION_METADATA_CORRUPT",
  /** No distribution metadata under that digest or diff ID. */
  MetadataNotFound: "ERR_DISTRIBUTION_METADATA_NOT_FOUND",
  /** A manifest that cannot be pulled: its layers and its config disagree, a foreign layer without URLs, indexes nested without end. */
  ManifestInvalid: "ERR_DISTRIBUTION_MANIFEST_INVALID",
  /** No entry of an index for the platform asked for, or an image for another operating system. */
  PlatformNotFound: "ERR_DISTRIBUTION_PLATFORM_NOT_FOUND",
  /** A blob from the registry that is not what its descriptor says (digest or size). */
  BlobMismatch: "ERR_DISTRIBUTION_BLOB_MISMATCH",
} as const;
export type DistributionErrorCode = (typeof DistributionErrorCode)[keyof typeof DistributionErrorCode];

/** Every error this package throws; branch on `code`. */
export class DistributionError extends StoreError<DistributionErrorCode> {}
