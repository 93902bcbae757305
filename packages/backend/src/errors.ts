import { StoreError } from "@store/errors";

/** Stable codes of the errors a StoreBackend throws. */
export const BackendErrorCode = {
  /** No content (or metadata) under that digest (or key). */
  NotFound: "ERR_BACKEND_NOT_FOUND",
  /** Stored content does not hash to its name: it was tampered with or corrupted. */
  VerificationFailed: "ERR_BACKEND_VERIFICATION_FAILED",
  /** A metadata key that could escape its directory or is otherwise unusable. */
  InvalidKey: "ERR_BACKEND_INVALID_KEY",
  /** A walk filter that can match no digest (an encoded prefix that is not lowercase hex, an unknown algorithm). */
  InvalidFilter: "ERR_BACKEND_INVALID_FILTER",
  /** Content handed to set() was empty, as dockerd refuses. */
  EmptyContent: "ERR_BACKEND_EMPTY_CONTENT",
  /** Content handed to setStream() did not match the digest or size it was said to have. */
  ContentMismatch: "ERR_BACKEND_CONTENT_MISMATCH",
  /** The storage underneath failed (disk, network); `cause` holds the original error. */
  Io: "ERR_BACKEND_IO",
  /** The backend was closed. */
  Closed: "ERR_BACKEND_CLOSED",
} as const;
export type BackendErrorCode = (typeof BackendErrorCode)[keyof typeof BackendErrorCode];

export class BackendError extends StoreError<BackendErrorCode> {}
