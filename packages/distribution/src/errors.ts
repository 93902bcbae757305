import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const DistributionErrorCode = {
  /** Distribution metadata that cannot be read (bad JSON, bad digest). */
  MetadataCorrupt: "ERR_DISTRIBUTION_METADATA_CORRUPT",
  /** No distribution metadata under that digest or diff ID. */
  MetadataNotFound: "ERR_DISTRIBUTION_METADATA_NOT_FOUND",
} as const;
export type DistributionErrorCode = (typeof DistributionErrorCode)[keyof typeof DistributionErrorCode];

/** Every error this package throws; branch on `code`. */
export class DistributionError extends StoreError<DistributionErrorCode> {}
