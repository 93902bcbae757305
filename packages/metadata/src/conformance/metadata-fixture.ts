import type { MetadataStore } from "../index";
import type { ConformanceCase } from "@store/conformance";

/** What a metadata store factory returns for one test. */
export interface MetadataFixture {
  /** A fresh store over an empty, isolated location (a new temp dir, bucket prefix…). */
  store: MetadataStore;
  /**
   * Opens another store over the same location. Race cases race through both stores when it is
   * given (a second client, as a second host would be); persistence cases close the first store,
   * then reopen. Persistence cases are skipped without it.
   */
  reopen?: () => Promise<MetadataStore>;
  /** Removes the location (temp dir, objects); called after every test. */
  cleanup?: () => Promise<void>;
}

/** Called once per test. */
export type MetadataFactory = () => Promise<MetadataFixture> | MetadataFixture;

/** Tunables of the metadata suite. */
export interface MetadataSuiteOptions {
  /** Writers racing one conditional write (default 16). */
  racers: number;
  /** Concurrent `update` loops on one counter (default 8)… */
  updaters: number;
  /** …each incrementing it this many times (default 5). */
  increments: number;
}

export const defaultMetadataSuiteOptions: MetadataSuiteOptions = { racers: 16, updaters: 8, increments: 5 };

/** A case of the metadata suite. */
export type MetadataCase = ConformanceCase<MetadataFixture, MetadataSuiteOptions>;

/** Gate for cases that need compare-and-swap honoured by the medium. */
export function needsConditional(fixture: MetadataFixture): string | undefined {
  return fixture.store.capabilities.conditional ? undefined : "the medium does not honour conditional writes (capabilities.conditional is false)";
}
