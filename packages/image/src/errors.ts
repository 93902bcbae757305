import { StoreError } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const ImageErrorCode = {
  /** No image matches the ID, ID prefix or reference ("No such image: <term>"). */
  NotFound: "ERR_IMAGE_NOT_FOUND",
  /** A short ID matches more than one image. */
  Ambiguous: "ERR_IMAGE_AMBIGUOUS",
  /** Config bytes that are not a usable image config (bad JSON, no rootfs, bad diff IDs…). */
  InvalidConfig: "ERR_IMAGE_INVALID_CONFIG",
  /** The image's top layer is not in the layer store. */
  LayerNotFound: "ERR_IMAGE_LAYER_NOT_FOUND",
  /** An operation the image's state forbids: dependent children, references, a parent cycle. */
  Conflict: "ERR_IMAGE_CONFLICT",
  /** A Dockerfile-style change (`docker import --change`) that cannot be applied. */
  InvalidChange: "ERR_IMAGE_INVALID_CHANGE",
  /** A filter name or value that listing or pruning does not accept. */
  InvalidFilter: "ERR_IMAGE_INVALID_FILTER",
  /** A string that is not a valid reference (name, tag or digest) by distribution/reference. */
  ReferenceInvalid: "ERR_REFERENCE_INVALID",
  /** A tag already points at another image (needs force), or a digest reference exists. */
  ReferenceConflict: "ERR_REFERENCE_CONFLICT",
  /** No such reference in the reference store. */
  ReferenceNotFound: "ERR_REFERENCE_NOT_FOUND",
  /** repositories.json cannot be read as dockerd's format; the file is left untouched. */
  ReferenceStoreCorrupt: "ERR_REFERENCE_STORE_CORRUPT",
  /** Distribution metadata that cannot be read (bad JSON, bad digest). */
  MetadataCorrupt: "ERR_DISTRIBUTION_METADATA_CORRUPT",
  /** No distribution metadata under that digest or diff ID. */
  MetadataNotFound: "ERR_DISTRIBUTION_METADATA_NOT_FOUND",
  /** Another process held a store's lock file for too long. */
  Locked: "ERR_IMAGE_LOCKED",
} as const;
export type ImageErrorCode = (typeof ImageErrorCode)[keyof typeof ImageErrorCode];

/** Every error this package throws; branch on `code`. */
export class ImageError extends StoreError<ImageErrorCode> {}
