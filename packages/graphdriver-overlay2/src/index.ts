export { Overlay2Driver, MAX_DEPTH } from "./overlay2-driver";
export { createOverlay2Driver, registerOverlay2 } from "./overlay2-factory";
export { checkOverlaySupport } from "./overlay-support";
export type { OverlaySupport } from "./overlay-support";
export { overlayApplyHooks, overlayExportHooks, overlayDeletion, OPAQUE_XATTR } from "./overlay-whiteouts";
export { linuxSyscalls } from "./libc";
export { generateShortId, SHORT_ID_LENGTH } from "./short-id";
