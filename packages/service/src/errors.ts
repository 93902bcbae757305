import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/** Stable codes of the errors the store service throws (the stores below throw their own). */
export const ServiceErrorCode = {
  /** `create: false` and no store at the root (a mistyped root is an error, not an empty store). */
  NoStore: "ERR_SERVICE_NO_STORE",
  /** A writing operation on a store opened with `access: "read"`. */
  ReadOnly: "ERR_SERVICE_READ_ONLY",
  /** The S3 backend was chosen without a bucket. */
  S3Bucket: "ERR_SERVICE_S3_BUCKET",
  /** A mount name prefix that fits several mounts. */
  MountAmbiguous: "ERR_SERVICE_MOUNT_AMBIGUOUS",
  /** A reference an operation cannot take (`push` of `name@digest`). */
  InvalidReference: "ERR_SERVICE_INVALID_REFERENCE",
} as const;
export type ServiceErrorCode = (typeof ServiceErrorCode)[keyof typeof ServiceErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const ServiceErrorKind: Partial<Record<ServiceErrorCode, ErrorKind>> = {
  [ServiceErrorCode.NoStore]: "notFound",
  [ServiceErrorCode.ReadOnly]: "unsupported",
  [ServiceErrorCode.S3Bucket]: "invalid",
};

/** Every error the service itself throws; branch on `code`. */
export class ServiceError extends StoreError<ServiceErrorCode> {
  constructor(code: ServiceErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? ServiceErrorKind[code];
    super(code, message, kind === undefined ? options : { ...options, kind });
  }
}
