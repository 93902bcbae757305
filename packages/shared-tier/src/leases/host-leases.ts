import type { Digest } from "@store/digest";

/** What a lease record in the bucket says (`leases/<host>`). */
export interface LeaseRecord {
  v: 1;
  host: string;
  /** When the host last renewed it, by its clock (RFC 3339). */
  renewed: string;
  /** Until when it holds (RFC 3339): renewed + TTL. A collector treats it as live until expires + skew. */
  expires: string;
  /** Digests the host is uploading, downloading or about to reference. */
  digests: string[];
}

/** A set of digests held by this host until released. */
export interface LeaseHold {
  readonly digests: readonly Digest[];
  /** Drops the hold (the lease record forgets the digests at its next write). Idempotent. */
  release(): void;
}

/**
 * This host's lease: digests it is working with, written to the bucket before any `hold`
 * resolves and renewed by a heartbeat, so garbage collection on any host keeps them. A host that
 * dies stops renewing, and its lease expires after the TTL.
 */
export interface HostLeases {
  readonly hostId: string;
  /** Holds `digests`; resolves once the lease record naming them is written. */
  hold(digests: readonly Digest[], options?: { signal?: AbortSignal }): Promise<LeaseHold>;
  /** Starts the heartbeat (renew every `renewMs`). */
  start(): void;
  /** Stops the heartbeat and removes the lease record. */
  stop(): Promise<void>;
}
