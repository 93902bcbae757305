import type { StoreBackend } from "@store/backend";
import type { DigestLike } from "@store/digest";
import type { MetadataStore } from "@store/metadata";

/** What {@link ensureBlob} works with. */
export interface IngestContext {
  /** The tier's content. */
  blobs: StoreBackend;
  /** The tier's records (claims under `ingest/`, collections under `gc/`). */
  metadata: MetadataStore;
  /** This host. */
  hostId: string;
}

/** Options of {@link ensureBlob}. */
export interface EnsureBlobOptions {
  signal?: AbortSignal;
  /** How long another host's claim may go without progress before this host takes over (default 60 s). */
  claimTimeoutMs?: number;
  /**
   * Where the metadata store does not honour conditional writes: how long a host waits after
   * writing its claim before listing the others' (default 200 ms). Longer than a claim's PUT takes.
   */
  settleMs?: number;
  /** How far hosts' clocks may disagree: a claim or a collection holds until its time + this (default 30 s). */
  clockSkewMs?: number;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
}

/**
 * Makes sure the tier holds `digest`, uploading it at most once across every host sharing the
 * bucket: present and not a candidate of a collection in progress → "present"; a candidate →
 * waits for that collection to end, then looks again; absent → claims `ingest/<digest>`, and the
 * claim's winner calls `upload` (which must store exactly that digest in `blobs`) while the others
 * wait for the blob to appear (taking over a claim whose owner stopped). The caller holds a lease
 * on `digest` (see HostLeases) before calling: that is what keeps a collection from deleting the
 * blob between this check and the record that references it.
 */
export type EnsureBlob = (
  context: IngestContext,
  digest: DigestLike,
  upload: () => Promise<void>,
  options?: EnsureBlobOptions,
) => Promise<"present" | "uploaded">;
