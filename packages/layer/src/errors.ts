import { StoreError } from "@store/errors";

/** Stable codes of the errors the layer store throws. */
export const LayerErrorCode = {
  /** No layer with that chain ID (moby: layer does not exist). */
  NotFound: "ERR_LAYER_NOT_FOUND",
  /** Stacking would exceed the maximum depth (moby: 125). */
  MaxDepth: "ERR_LAYER_MAX_DEPTH",
  /** A rebuilt tar stream did not hash to the layer's diffID. */
  VerificationFailed: "ERR_LAYER_VERIFICATION_FAILED",
  /** layerdb holds something unreadable for a layer. */
  CorruptMetadata: "ERR_LAYER_CORRUPT_METADATA",
  /** The layer's uncompressed tar does not hash to the diffID the caller expected (nothing committed). */
  DiffIdMismatch: "ERR_LAYER_DIFF_ID_MISMATCH",
  /** The bytes as received do not have the blob digest or size the caller expected (nothing committed). */
  BlobMismatch: "ERR_LAYER_BLOB_MISMATCH",
  /** An option handed to register or stage is malformed (e.g. an expected size that is no byte count). */
  InvalidArgument: "ERR_LAYER_INVALID_ARGUMENT",
  /** The layer data handed to register is not a usable tar (or compressed tar). */
  InvalidData: "ERR_LAYER_INVALID_DATA",
  /** A read-write layer name is taken or unknown. */
  MountExists: "ERR_LAYER_MOUNT_EXISTS",
  MountNotFound: "ERR_LAYER_MOUNT_NOT_FOUND",
  /** A mount name that cannot name a directory under mounts/ (see `assertMountName`). */
  InvalidName: "ERR_LAYER_INVALID_NAME",
  /** A layer or mount is still in use. */
  InUse: "ERR_LAYER_IN_USE",
  /** A layer handle was released more often than it was taken. */
  NotRetained: "ERR_LAYER_NOT_RETAINED",
  /** The driver cannot do what was asked (staging a layer needs `setParent`). */
  Unsupported: "ERR_LAYER_UNSUPPORTED",
  /** A staged layer was committed or discarded twice. */
  StagedLayerGone: "ERR_LAYER_STAGED_GONE",
} as const;
export type LayerErrorCode = (typeof LayerErrorCode)[keyof typeof LayerErrorCode];

export class LayerError extends StoreError<LayerErrorCode> {}
