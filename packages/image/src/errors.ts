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
  /** The image store was closed; nothing more can be read or written through it. */
  Closed: "ERR_IMAGE_CLOSED",
} as const;
export type ImageErrorCode = (typeof ImageErrorCode)[keyof typeof ImageErrorCode];

/** Every error this package throws; branch on `code`. */
export class ImageError extends StoreError<ImageErrorCode> {}
