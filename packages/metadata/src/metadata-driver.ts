import type { MetadataCapabilities, MetadataRecord } from "./metadata-store";

/**
 * The few primitives a medium implements; {@link createMetadataStore} derives the whole
 * MetadataStore (key checks, argument checks, conflicts as errors, the refusal to fake a
 * compare-and-swap, closing) from them, once for all.
 *
 * Keys reach a driver validated. Versions are the driver's own opaque strings.
 */
export interface MetadataDriver {
  /** A short name for messages ("fs", "memory", "s3"). */
  readonly name: string;
  /**
   * What the medium honours. `conditional: true` promises that {@link create}, {@link replace}
   * and a versioned {@link remove} are atomic against every writer sharing the medium.
   */
  readonly capabilities: MetadataCapabilities;

  /** The record at `key`, or undefined when there is none. */
  read(key: string): Promise<MetadataRecord | undefined>;
  /** Writes `data` at `key` unless a record is there: its new version, or undefined when one exists. */
  create(key: string, data: Uint8Array): Promise<string | undefined>;
  /** Replaces the record at `key` if it is at `version`: the new version, or undefined when it is not (or gone). */
  replace(key: string, data: Uint8Array, version: string): Promise<string | undefined>;
  /** Writes `data` at `key` whatever is there; the new version. */
  write(key: string, data: Uint8Array): Promise<string>;
  /**
   * Removes the record at `key`; with `version`, only if it is at that version. False when a
   * version was given and did not match (or the record is gone); a missing record otherwise is fine.
   */
  remove(key: string, version?: string): Promise<boolean>;
  /** Every key below `prefix/` ("" for all), any order. */
  list(prefix: string): Promise<string[]>;
  /** Releases resources (connections, handles). */
  close?(): Promise<void>;
}
