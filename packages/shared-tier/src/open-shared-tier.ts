import { hostname } from "node:os";
import type { StoreBackend } from "@store/backend";
import type { MetadataStore } from "@store/metadata";
import { collectGarbage } from "./gc/collect-garbage-once";
import { ensureBlob } from "./ingest/ensure-blob-once";
import { openHostLeases } from "./leases/open-host-leases";
import { openReferenceLog } from "./references/open-reference-log";
import { watchReferenceLog } from "./references/watch-reference-log";
import { assertHostId } from "./option-checks";
import type { SharedState } from "./references/shared-state";
import type { SharedTier } from "./shared-tier";
import { materialiseImage } from "./sync/materialise-image";
import { publishImage } from "./sync/publish-image";

/** How to open a shared tier over a content store and a metadata store (S3, or memory in tests). */
export interface OpenSharedTierOptions {
  /** Content by digest (configs, layer blobs, manifests). */
  blobs: StoreBackend;
  /** Records: the reference log, leases, claims, collections. */
  metadata: MetadataStore;
  /** This host's name in leases and records (default: hostname + PID); unique per running daemon. */
  hostId?: string;
  /** How often the references are read for other hosts' changes (default 250 ms: seen within a second). */
  pollMs?: number;
  /** How long this host's lease lasts without renewal (default 60 s). */
  leaseTtlMs?: number;
  /**
   * How often this host compacts the reference log (a snapshot, then older records removed), so
   * a fresh host reads one object and a short tail (default 5 minutes; 0: never). Hosts may
   * compact at once: they write the same snapshot.
   */
  compactMs?: number;
  /** Told of a failed poll or renewal (the tier keeps trying); default: ignored. */
  onError?: (error: unknown) => void;
  /** The tier closes `blobs` and `metadata` on close (default true). */
  ownsStores?: boolean;
}

/** Opens the tier: reads the references once, takes this host's lease, starts polling. */
export async function openSharedTier(options: OpenSharedTierOptions): Promise<SharedTier> {
  const hostId = options.hostId ?? `${hostname()}-${process.pid}`;
  assertHostId(hostId);
  const { blobs, metadata } = options;
  const log = openReferenceLog({ store: metadata, hostId });
  const leases = openHostLeases({ store: metadata, hostId, ...(options.leaseTtlMs ? { ttlMs: options.leaseTtlMs } : {}) });
  const listeners = new Set<(state: SharedState) => void>();
  const onError = options.onError ?? (() => undefined);
  // States are immutable and a refresh that finds nothing returns the same one: a new object is a
  // change, also one a late record made without moving the position (ordered records).
  let last = await log.refresh();
  const moved = (state: SharedState) => {
    if (state === last) return state;
    last = state;
    for (const listener of listeners) listener(state);
    return state;
  };
  leases.start();
  let closed = false;
  const watch = watchReferenceLog(log, options.pollMs ?? 250, moved, { onError });
  let compacting: Promise<unknown> = Promise.resolve();
  const compactMs = options.compactMs ?? 5 * 60_000;
  const compactTimer =
    compactMs > 0
      ? setInterval(() => {
          compacting = log.compact().catch(onError);
        }, compactMs).unref()
      : undefined;

  const context = { blobs, metadata, hostId, log, leases, ensureBlob };
  return {
    ...context,
    state: () => log.current(),
    refresh: async (o) => moved(await log.refresh(o)),
    onChange(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async publish(stores, id, o) {
      const result = await publishImage(context, stores, id, o);
      moved(log.current());
      return result;
    },
    materialise: (stores, id, o) => materialiseImage(context, stores, id, o),
    collectGarbage: (o = {}) => collectGarbage({ blobs, metadata, log, hostId, ...o }),
    async close() {
      if (closed) return;
      closed = true;
      if (compactTimer) clearInterval(compactTimer);
      await watch.stop();
      await compacting;
      await leases.stop().catch(onError);
      if (options.ownsStores !== false) {
        await blobs.close();
        await metadata.close();
      }
    },
  };
}
