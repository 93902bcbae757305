import type { StoreBackend } from "@store/backend";

/**
 * What an image conformance suite needs of a backend: one to start on, and a way to open the
 * same location again. A non-persistent backend (memory) hands back the very same instance.
 */
export interface ImageConformanceSubject {
  backend: StoreBackend;
  /** A backend over the same data: a fresh one for persistent backends, the same one otherwise. */
  reopen(): Promise<StoreBackend>;
  /** Removes what the subject created (temp dirs…). */
  cleanup(): Promise<void>;
}

export type ImageConformanceFactory = () => Promise<ImageConformanceSubject>;
