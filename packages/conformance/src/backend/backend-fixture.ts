import type { ConformanceCase } from "../conformance-case";
import type { StoreBackend } from "@store/backend";

/** What a backend factory returns for one test. */
export interface BackendFixture {
  /** A fresh backend over an empty, isolated location (a new temp dir, bucket prefix…). */
  backend: StoreBackend;
  /**
   * For backends whose capabilities say `persistent`: opens a new backend over the same location
   * (the suite closes the first one before). Persistence cases are skipped without it.
   */
  reopen?: () => Promise<StoreBackend>;
  /** Removes the location (temp dir, objects); called after every test. */
  cleanup?: () => Promise<void>;
}

/** Called once per test. */
export type BackendFactory = () => Promise<BackendFixture> | BackendFixture;

/** Tunables of the StoreBackend suite. */
export interface BackendSuiteOptions {
  /** Bytes streamed in and out by the large-stream cases (64 MiB by default; at least 64 MiB is the contract). */
  streamSize: number;
}

export const defaultBackendSuiteOptions: BackendSuiteOptions = { streamSize: 64 << 20 };

/** A case of the StoreBackend suite. */
export type BackendCase = ConformanceCase<BackendFixture, BackendSuiteOptions>;
