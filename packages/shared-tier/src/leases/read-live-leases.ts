import { mapLimit } from "@store/internal";
import type { MetadataStore } from "@store/metadata";
import { SharedKeys } from "../layout";
import { readRecord } from "../record-codec";
import { parseLeaseRecord } from "./lease-record";

/** Options of {@link readLiveLeases}. */
export interface ReadLiveLeasesOptions {
  /** The reader's time in ms since the epoch (default Date.now()). */
  now?: number;
  /** How far hosts' clocks may disagree: a lease is live until its `expires` + this (default 30 s). */
  clockSkewMs?: number;
}

/**
 * The union of the digests every live lease holds: what a collector must keep whatever the
 * references say. A lease is live until `expires + clockSkewMs` by the reader's clock, so a host
 * whose clock runs behind the collector's still keeps what it holds. A record that does not parse
 * fails the read (ERR_SHARED_CORRUPT naming it): treating it as empty could free what it holds.
 */
export async function readLiveLeases(store: MetadataStore, options: ReadLiveLeasesOptions = {}): Promise<Set<string>> {
  const now = options.now ?? Date.now();
  const skew = options.clockSkewMs ?? 30_000;
  const held = new Set<string>();
  const keys = await store.list(SharedKeys.leases);
  await mapLimit(keys, 8, async (key) => {
    const record = await readRecord(store, key, parseLeaseRecord);
    // Removed between the listing and the read: the host stopped, and holds nothing.
    if (record === undefined) return;
    const lease = record.value;
    if (Date.parse(lease.expires) + skew < now) return;
    for (const digest of lease.digests) held.add(digest);
  });
  return held;
}
