import { StoreError } from "@store/errors";

/** Stable codes of the errors `loadArchive` and `saveArchive` throw. */
export const ArchiveErrorCode = {
  /** The archive is not one we can read: bad JSON, a path escaping the archive, a truncated tar, no manifest. */
  Invalid: "ERR_ARCHIVE_INVALID",
  /** The manifest or index names a file or blob the archive does not hold. */
  MissingFile: "ERR_ARCHIVE_MISSING_FILE",
  /** A layer's content does not match what the config (diff_ids) or a descriptor (digest) says. */
  LayerMismatch: "ERR_ARCHIVE_LAYER_MISMATCH",
  /** The image is for another operating system than this host's. */
  UnsupportedPlatform: "ERR_ARCHIVE_UNSUPPORTED_PLATFORM",
  /** A name given to save matches no image. */
  ImageNotFound: "ERR_ARCHIVE_IMAGE_NOT_FOUND",
  /** Save was asked for an image without layers (dockerd: "empty export - not implemented"). */
  EmptyImage: "ERR_ARCHIVE_EMPTY_IMAGE",
  /** A reference given to save, or a tag in an archive, is not a valid reference. */
  InvalidReference: "ERR_ARCHIVE_INVALID_REFERENCE",
} as const;
export type ArchiveErrorCode = (typeof ArchiveErrorCode)[keyof typeof ArchiveErrorCode];

export class ArchiveError extends StoreError<ArchiveErrorCode> {}
