import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const ReferenceErrorCode = {
  /** A string that is not a valid reference (name, tag or digest) by distribution/reference. */
  Invalid: "ERR_REFERENCE_INVALID",
  /** A glob pattern (`docker images --filter reference=…`) that path.Match refuses. */
  InvalidPattern: "ERR_REFERENCE_INVALID_PATTERN",
  /** A tag already points at another image (needs force), or a digest reference exists. */
  Conflict: "ERR_REFERENCE_CONFLICT",
  /** No such reference in the reference store. */
  NotFound: "ERR_REFERENCE_NOT_FOUND",
  /** repositories.json cannot be read as dockerd's format; the file is left untouched. */
  StoreCorrupt: "ERR_REFERENCE_STORE_CORRUPT",
  /**
   * A change through a metadata store that does not honour conditional writes, without
   * `allowUnconditional`: it could silently lose another process's tags.
   */
  WriteUnsupported: "ERR_REFERENCE_WRITE_UNSUPPORTED",
} as const;
export type ReferenceErrorCode = (typeof ReferenceErrorCode)[keyof typeof ReferenceErrorCode];

/**
 * Every error this package throws; branch on `code`. Not called `ReferenceError`, which would
 * shadow JavaScript's global of that name in every file that imports it.
 */
export class ImageReferenceError extends StoreError<ReferenceErrorCode> {}
