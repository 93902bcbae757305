import { StoreError } from "@store/errors";

/**
 * The stable `code`s of the errors graph drivers and the helpers here throw.
 * Callers branch on these with `isStoreError(e, code)`.
 */
export const GraphDriverErrorCode = {
  /** The driver cannot run here (kernel, filesystem, privileges); the message says why. */
  Unsupported: "ERR_GRAPHDRIVER_UNSUPPORTED",
  /** No driver of that name is registered. */
  NotFound: "ERR_GRAPHDRIVER_NOT_FOUND",
  /** A driver option or per-layer storage option the driver does not know. */
  InvalidOption: "ERR_GRAPHDRIVER_INVALID_OPTION",
  /** A layer id that is not a single safe path component. */
  InvalidId: "ERR_GRAPHDRIVER_INVALID_ID",
  /** The layer (or its parent) does not exist. */
  LayerNotFound: "ERR_GRAPHDRIVER_LAYER_NOT_FOUND",
  /** A layer with that id exists already. */
  LayerExists: "ERR_GRAPHDRIVER_LAYER_EXISTS",
  /** The layer is mounted and cannot be removed. */
  LayerBusy: "ERR_GRAPHDRIVER_LAYER_BUSY",
  /** The parent given is not the layer's parent. */
  InvalidParent: "ERR_GRAPHDRIVER_INVALID_PARENT",
  /** The chain of parents is deeper than the driver allows. */
  MaxDepth: "ERR_GRAPHDRIVER_MAX_DEPTH",
  /** A diff was applied to a layer that already has content. */
  NotEmpty: "ERR_GRAPHDRIVER_NOT_EMPTY",
  /** The operation needs privileges this process lacks (mounting, device nodes). */
  Permission: "ERR_GRAPHDRIVER_PERMISSION",
  /** A tar entry that would write outside the layer (`..`, a symlink on the way, a link out). */
  Breakout: "ERR_GRAPHDRIVER_BREAKOUT",
  /** Two tar entries name the same cleaned path. */
  DuplicateEntry: "ERR_GRAPHDRIVER_DUPLICATE_ENTRY",
  /** A tar entry could not be applied (the cause says why). */
  ApplyFailed: "ERR_GRAPHDRIVER_APPLY_FAILED",
  /** Mounting or unmounting failed. */
  MountFailed: "ERR_GRAPHDRIVER_MOUNT_FAILED",
} as const;

export type GraphDriverErrorCode = (typeof GraphDriverErrorCode)[keyof typeof GraphDriverErrorCode];

/** Every error graph drivers and the helpers here throw; branch on `code`. */
export class GraphDriverError extends StoreError<GraphDriverErrorCode> {}
