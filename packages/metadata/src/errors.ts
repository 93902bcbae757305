import { StoreError } from "@store/errors";

/** Stable codes of the errors a MetadataStore throws. */
export const MetadataErrorCode = {
  /**
   * A conditional write lost: the record exists already (putIfAbsent), or its version is not the
   * one given or it is gone (putIfVersion, delete with ifVersion). Read again and retry.
   */
  Conflict: "ERR_METADATA_CONFLICT",
  /** A key that is not a `/`-separated relative name of safe segments. */
  InvalidKey: "ERR_METADATA_INVALID_KEY",
  /**
   * Empty data: a record holds at least one byte (on S3 a deleted record is an empty object, so an
   * empty record could not be told from a deleted one).
   */
  EmptyData: "ERR_METADATA_EMPTY_DATA",
  /** A version that is not a non-empty string, or data that is not bytes. */
  InvalidArgument: "ERR_METADATA_INVALID_ARG",
  /**
   * The medium does not honour conditional writes, and the store was not opened with
   * `allowUnconditional`: refusing beats pretending a compare-and-swap happened.
   */
  Unsupported: "ERR_METADATA_UNSUPPORTED",
  /** Another process held the record's lock for longer than the store waits. */
  Locked: "ERR_METADATA_LOCKED",
  /** The storage underneath failed (disk, network); `cause` holds the original error. */
  Io: "ERR_METADATA_IO",
  /** The store was closed. */
  Closed: "ERR_METADATA_CLOSED",
} as const;
export type MetadataErrorCode = (typeof MetadataErrorCode)[keyof typeof MetadataErrorCode];

export class MetadataError extends StoreError<MetadataErrorCode> {}
