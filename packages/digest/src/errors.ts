import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const DigestErrorCode = {
  /** The string is not `algorithm:encoded` by the OCI image-spec grammar. */
  InvalidFormat: "ERR_DIGEST_INVALID_FORMAT",
  /** A registered algorithm with an encoded part of the wrong length. */
  InvalidLength: "ERR_DIGEST_INVALID_LENGTH",
  /** Well-formed, but the algorithm is not one this package registers. */
  UnsupportedAlgorithm: "ERR_DIGEST_UNSUPPORTED_ALGORITHM",
  /** Content did not hash to the digest it was expected to have. */
  Mismatch: "ERR_DIGEST_MISMATCH",
  /** A digest set has no digest matching the search. */
  NotFound: "ERR_DIGEST_NOT_FOUND",
  /** A short search matches more than one digest in a set. */
  Ambiguous: "ERR_DIGEST_AMBIGUOUS",
} as const;
export type DigestErrorCode = (typeof DigestErrorCode)[keyof typeof DigestErrorCode];

export class DigestError extends StoreError<DigestErrorCode> {}
