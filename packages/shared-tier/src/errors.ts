import { StoreError } from "@store/errors";

/** Stable codes of the shared tier's errors. */
export const SharedTierErrorCode = {
  /** A change record, snapshot or lease in the bucket that does not parse: written by something else, or damaged. */
  Corrupt: "ERR_SHARED_CORRUPT",
  /** The image, reference or blob is not in the shared tier. */
  NotFound: "ERR_SHARED_NOT_FOUND",
  /** Options that cannot work (a bad host ID, prefix, interval). */
  InvalidOptions: "ERR_SHARED_INVALID_OPTIONS",
  /** Waiting for another host (its upload claim, a garbage collection) took longer than allowed. */
  Timeout: "ERR_SHARED_TIMEOUT",
  /** Appending a change lost to other writers more times than allowed. */
  Conflict: "ERR_SHARED_CONFLICT",
  /** The tier was closed. */
  Closed: "ERR_SHARED_CLOSED",
} as const;
export type SharedTierErrorCode = (typeof SharedTierErrorCode)[keyof typeof SharedTierErrorCode];

export class SharedTierError extends StoreError<SharedTierErrorCode> {}
