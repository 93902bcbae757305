import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const TarErrorCode = {
  /** A header block is malformed: bad checksum, bad numeric field, bad PAX record, bad magic. */
  InvalidHeader: "ERR_TAR_INVALID_HEADER",
  /** The archive ends inside a header or inside an entry's content. */
  Truncated: "ERR_TAR_TRUNCATED",
  /** Well-formed, but not something a layer can hold: sparse files, unknown typeflags. */
  Unsupported: "ERR_TAR_UNSUPPORTED",
  /** An entry's body was read after the parser moved on to a later entry. */
  BodyExpired: "ERR_TAR_BODY_EXPIRED",
  /** writeTar: the header cannot be encoded (NUL in a name, negative number, trailing slash on a file…). */
  InvalidEntry: "ERR_TAR_INVALID_ENTRY",
  /** writeTar: a body's length differs from the header's size. */
  BodySizeMismatch: "ERR_TAR_BODY_SIZE_MISMATCH",
  /** Recording a tar-split: the archive names the same cleaned path twice (Go's ErrDuplicatePath). */
  DuplicatePath: "ERR_TAR_SPLIT_DUPLICATE_PATH",
  /** A tar-split stream is not gzip of JSON lines of the expected shape. */
  InvalidTarSplit: "ERR_TAR_SPLIT_INVALID",
  /** Assembling: a file's content does not have the CRC-64 recorded in the tar-split. */
  CrcMismatch: "ERR_TAR_SPLIT_CRC_MISMATCH",
  /** Assembling: a file's content does not have the size recorded in the tar-split. */
  SizeMismatch: "ERR_TAR_SPLIT_SIZE_MISMATCH",
} as const;
export type TarErrorCode = (typeof TarErrorCode)[keyof typeof TarErrorCode];

export class TarError extends StoreError<TarErrorCode> {}
