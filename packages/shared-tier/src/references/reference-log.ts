import type { ReferenceChange } from "./reference-change";
import type { SharedState } from "./shared-state";

/**
 * The shared references as an ordered log of immutable change records in a MetadataStore, read
 * incrementally by every host, with snapshots so a fresh host reads one object and the tail.
 *
 * Two ways to name records, chosen by the store's `capabilities.conditional`:
 * - **compare-and-swap** (the server honours `If-None-Match: *`, e.g. Ceph RGW, AWS S3): records
 *   are consecutive sequence numbers, each claimed by `putIfAbsent`; a writer that loses the
 *   number reads on and takes the next. One total order, no gaps, no clocks.
 * - **ordered records** (s3rver, which ignores conditions): each record gets a unique name
 *   (`<time>-<host>-<counter>`), so no write can overwrite another; the order is the names'.
 *   A record that shows up late with an earlier name (clock skew, a slow PUT) is still applied:
 *   readers re-list a window behind their position and replay from the last snapshot when one
 *   appears out of order.
 * Either way no successful append is ever lost.
 */
export interface ReferenceLog {
  readonly mode: "compare-and-swap" | "ordered-records";
  /** Appends one record holding `changes`; resolved once it is durable and visible to every reader. */
  append(changes: readonly ReferenceChange[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Reads what was appended since the last read (by any host) and returns the state. */
  refresh(options?: { signal?: AbortSignal }): Promise<SharedState>;
  /** The state as of the last refresh (or append), without I/O. */
  current(): SharedState;
  /**
   * Writes a snapshot of the state up to the current position (deterministic: two hosts
   * compacting the same prefix write the same bytes) and removes records and snapshots that the
   * new snapshot makes unnecessary, keeping enough for readers that are behind.
   */
  compact(options?: { signal?: AbortSignal }): Promise<void>;
}
