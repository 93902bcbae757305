import type { BackendDriver, StoreBackend } from "@store/backend";
import type { ConformanceCase } from "../conformance-case";

/** What a backend factory returns for one test. */
export interface BackendFixture {
  /** A fresh backend over an empty, isolated location (a new temp dir, bucket prefix…). */
  backend: StoreBackend;
  /**
   * Raw access to the same location, beside the backend (its own driver, or another over the
   * same place): how cases tamper with stored content, plant strays, look at the layout and race
   * create-only writes. The backend no longer hands out its driver; cases that need this one
   * are skipped without it, with that reason.
   */
  driver?: BackendDriver;
  /**
   * For backends whose capabilities say `persistent`: opens a new backend over the same location
   * (the suite closes the first one before). Persistence cases are skipped without it. Backends
   * that declare `shared` get a second one while the first is still open.
   */
  reopen?: () => Promise<StoreBackend>;
  /** Removes the location (temp dir, objects); called after every test. */
  cleanup?: () => Promise<void>;
  /**
   * Set when the medium under test — not the driver — lets a racing reader see part of an object
   * being published (s3rver writes a PUT's file in place; AWS S3, MinIO and R2 do not): the
   * reason. The cases that race readers against writers are then skipped with it.
   */
  notAtomic?: string;
}

/** Called once per test. */
export type BackendFactory = () => Promise<BackendFixture> | BackendFixture;

/** Tunables of the StoreBackend suite. */
export interface BackendSuiteOptions {
  /** Bytes streamed in and out by the large-stream cases (64 MiB by default; at least 64 MiB is the contract). */
  streamSize: number;
  /**
   * Bytes of the blob cases' streamed blobs (24 MiB by default): layer-sized content that crosses
   * a multipart backend's part size several times, kept small enough to run every time.
   */
  blobSize: number;
}

export const defaultBackendSuiteOptions: BackendSuiteOptions = { streamSize: 64 << 20, blobSize: 24 << 20 };

/** A case of the StoreBackend suite. */
export type BackendCase = ConformanceCase<BackendFixture, BackendSuiteOptions>;
