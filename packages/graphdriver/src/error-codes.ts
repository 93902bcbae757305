/**
 * The stable `code`s of the StoreErrors graph drivers and the helpers here throw.
 * Callers branch on these with `isStoreError(e, code)`.
 */
export const GraphDriverErrorCodes = {
  /** The driver cannot run here (kernel, filesystem, privileges); the message says why. */
  unsupported: "ERR_GRAPHDRIVER_UNSUPPORTED",
  /** No driver of that name is registered. */
  notFound: "ERR_GRAPHDRIVER_NOT_FOUND",
  /** A driver option or per-layer storage option the driver does not know. */
  invalidOption: "ERR_GRAPHDRIVER_INVALID_OPTION",
  /** A layer id that is not a single safe path component. */
  invalidId: "ERR_GRAPHDRIVER_INVALID_ID",
  /** The layer (or its parent) does not exist. */
  layerNotFound: "ERR_GRAPHDRIVER_LAYER_NOT_FOUND",
  /** A layer with that id exists already. */
  layerExists: "ERR_GRAPHDRIVER_LAYER_EXISTS",
  /** The layer is mounted and cannot be removed. */
  layerBusy: "ERR_GRAPHDRIVER_LAYER_BUSY",
  /** The parent given is not the layer's parent. */
  invalidParent: "ERR_GRAPHDRIVER_INVALID_PARENT",
  /** The chain of parents is deeper than the driver allows. */
  maxDepth: "ERR_GRAPHDRIVER_MAX_DEPTH",
  /** A diff was applied to a layer that already has content. */
  notEmpty: "ERR_GRAPHDRIVER_NOT_EMPTY",
  /** The operation needs privileges this process lacks (mounting, device nodes). */
  permission: "ERR_GRAPHDRIVER_PERMISSION",
  /** A tar entry that would write outside the layer (`..`, a symlink on the way, a link out). */
  breakout: "ERR_GRAPHDRIVER_BREAKOUT",
  /** Two tar entries name the same cleaned path. */
  duplicateEntry: "ERR_GRAPHDRIVER_DUPLICATE_ENTRY",
  /** A tar entry could not be applied (the cause says why). */
  applyFailed: "ERR_GRAPHDRIVER_APPLY_FAILED",
  /** Mounting or unmounting failed. */
  mountFailed: "ERR_GRAPHDRIVER_MOUNT_FAILED",
} as const;

export type GraphDriverErrorCode = (typeof GraphDriverErrorCodes)[keyof typeof GraphDriverErrorCodes];
