import { StoreError } from "@store/errors";

/** Stable codes of the errors the store service throws (the stores below throw their own). */
export const ServiceErrorCode = {
  /** `create: false` and no store at the root (a mistyped root is an error, not an empty store). */
  NoStore: "ERR_SERVICE_NO_STORE",
  /** A writing operation on a store opened with `access: "read"`. */
  ReadOnly: "ERR_SERVICE_READ_ONLY",
  /** The S3 backend was chosen without a bucket. */
  S3Bucket: "ERR_SERVICE_S3_BUCKET",
  /** A mount name outside `[A-Za-z0-9][A-Za-z0-9_.-]*`. */
  InvalidName: "ERR_SERVICE_INVALID_NAME",
  /** A mount name prefix that fits several mounts. */
  AmbiguousMount: "ERR_SERVICE_AMBIGUOUS_MOUNT",
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

export class ServiceError extends StoreError<ServiceErrorCode> {}
