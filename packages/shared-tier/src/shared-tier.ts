import type { Digest } from "@store/digest";
import type { PullStores } from "@store/distribution";
import type { CollectGarbageOptions, GarbageReport } from "./gc/collect-garbage";
import type { SharedState } from "./references/shared-state";
import type { MaterialiseOptions } from "./sync/materialise-image";
import type { PublishOptions, PublishResult, PublishStores } from "./sync/publish-image";
import type { SharedContext } from "./sync/shared-context";

/**
 * One shared tier, opened by one host: the bucket's content and records, this host's lease with
 * its heartbeat, and the shared references kept fresh by polling, so a change on any host shows
 * here within a poll interval.
 */
export interface SharedTier extends SharedContext {
  /** The shared references as last read (no I/O). */
  state(): SharedState;
  /** Reads what changed since the last read. */
  refresh(options?: { signal?: AbortSignal }): Promise<SharedState>;
  /** Called after each read that moved the state (a change by this host or another). */
  onChange(listener: (state: SharedState) => void): () => void;
  /** Copies a local image up (see `publishImage`). */
  publish(stores: PublishStores, id: Digest, options?: PublishOptions): Promise<PublishResult>;
  /** Copies a tier image down into local stores (see `materialiseImage`). */
  materialise(stores: PullStores, id: Digest, options?: MaterialiseOptions): Promise<Digest>;
  /** One garbage collection (see `collectGarbage`). */
  collectGarbage(options?: Partial<Pick<CollectGarbageOptions, "graceMs" | "clockSkewMs" | "dryRun" | "signal">>): Promise<GarbageReport>;
  /** Stops polling and the heartbeat, removes this host's lease, closes what it opened. */
  close(): Promise<void>;
}
