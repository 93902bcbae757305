import type { BackendDriver, StoreBackend } from "@store/backend";
import type { ConformanceCase } from "@store/conformance";
import type { LayerSide, LayerSideFactory } from "./layer-side";

/** What an image-suite factory returns for one case: a backend and a way to open its location again. */
export interface ImageBackendFixture {
  /** A fresh backend over an empty, isolated location. */
  backend: StoreBackend;
  /**
   * A backend over the same data, as after a restart: a new one for persistent backends, the
   * very same instance for a memory backend. Restore is what these suites test, so it is required.
   */
  reopen(): Promise<StoreBackend>;
  /** Raw access to the same location, to plant strays beside what the image store writes (optional). */
  driver?: BackendDriver;
  /** Removes the location (temp dir, objects); called after every case. */
  cleanup?: () => Promise<void>;
}

/** Called once per case. */
export type ImageFactory = () => Promise<ImageBackendFixture> | ImageBackendFixture;

/** What an image case gets: the backend fixture and a layer side. */
export interface ImageFixture extends ImageBackendFixture {
  layers: LayerSide;
}

/** Options of the image suites. */
export interface ImageSuiteOptions {
  /** The layer store behind the image store: a fake by default ({@link fakeLayerSide}). */
  layers?: LayerSideFactory;
}

/** A case of the image suites. */
export type ImageCase = ConformanceCase<ImageFixture, ImageSuiteOptions>;
