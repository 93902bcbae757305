import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const InternalErrorCode = {
  /** Another process held a lock file for longer than the caller would wait. */
  Locked: "ERR_INTERNAL_LOCKED",
} as const;
export type InternalErrorCode = (typeof InternalErrorCode)[keyof typeof InternalErrorCode];

/** Every error this package throws; branch on `code`. */
export class InternalError extends StoreError<InternalErrorCode> {}
