import type { Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { MetadataErrorCode, type MetadataStore } from "@store/metadata";
import { SharedTierError, SharedTierErrorCode } from "../errors";
import { assertDuration, assertHostId } from "../option-checks";
import { SharedKeys } from "../layout";
import { encodeRecord } from "../record-codec";
import type { HostLeases, LeaseHold, LeaseRecord } from "./host-leases";

/** Options of {@link openHostLeases}. */
export interface HostLeasesOptions {
  /** Where the record goes (`leases/<hostId>`): the tier's metadata store. */
  store: MetadataStore;
  /** This host; the only writer of its record. */
  hostId: string;
  /** How long a write holds (default 60 s): a host that stops renewing loses its lease after this. */
  ttlMs?: number;
  /** How often the heartbeat renews (default a third of the TTL, so two renewals may fail in a row). */
  renewMs?: number;
  /** The clock, in ms since the epoch (default Date.now). */
  now?: () => number;
  /** Told of every failed renewal (which is retried); the heartbeat never throws into a timer. */
  onError?: (error: unknown) => void;
}

// Rounds of a write that lost to another writer of our own record (a previous run of this host).
const maxRounds = 5;

/**
 * This host's lease on the digests it works with: one record, `leases/<hostId>`, written only by
 * this host. Holds count (two holds of one digest keep it until both are released); concurrent
 * holds share one write, and each resolves only after a write that names its digests. The
 * heartbeat rewrites the record every `renewMs` with a fresh `expires`; `stop()` removes it.
 */
export function openHostLeases(options: HostLeasesOptions): HostLeases {
  const { store, hostId } = options;
  assertHostId(hostId);
  const ttlMs = options.ttlMs ?? 60_000;
  assertDuration("ttlMs", ttlMs);
  const renewMs = options.renewMs ?? ttlMs / 3;
  assertDuration("renewMs", renewMs);
  if (renewMs >= ttlMs) {
    throw new SharedTierError(
      SharedTierErrorCode.InvalidOptions,
      `renewMs (${renewMs}) must be shorter than ttlMs (${ttlMs}), or the lease lapses between renewals`,
      {
        details: { renewMs, ttlMs },
      },
    );
  }
  const now = options.now ?? Date.now;
  const key = `${SharedKeys.leases}/${hostId}`;

  const counts = new Map<string, number>();
  let version: string | undefined;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // The write in flight, and the one queued behind it that every hold arriving meanwhile joins.
  let writing: Promise<void> | undefined;
  let queued: Promise<void> | undefined;

  async function writeOnce(): Promise<void> {
    // The record says what is held as this write starts; holds arriving later wait for the next.
    const at = now();
    const record: LeaseRecord = {
      v: 1,
      host: hostId,
      renewed: new Date(at).toISOString(),
      expires: new Date(at + ttlMs).toISOString(),
      digests: [...counts.keys()].sort(),
    };
    const data = encodeRecord(record);
    for (let round = 1; ; round++) {
      try {
        version = version === undefined ? await store.putIfAbsent(key, data) : await store.putIfVersion(key, data, version);
        return;
      } catch (e) {
        // Our record as an earlier run of this host left it (a restart), or as a write whose
        // answer we lost left it: this host is its only writer, so take the version and overwrite.
        if (!isStoreError(e, MetadataErrorCode.Conflict) || round >= maxRounds) throw e;
        version = (await store.get(key))?.version;
      }
    }
  }

  function write(): Promise<void> {
    if (queued) return queued;
    const previous = writing;
    // Named before it runs: the body compares it with what is queued and in flight.
    let next: Promise<void> | undefined;
    next = (async () => {
      await previous?.catch(() => undefined);
      // From here on, a new hold needs a later write: this one may have read `counts` already.
      if (queued === next) queued = undefined;
      writing = next;
      try {
        await writeOnce();
      } finally {
        if (writing === next) writing = undefined;
      }
    })();
    queued = next;
    return queued;
  }

  function release(digests: readonly string[]): void {
    for (const d of digests) {
      const n = (counts.get(d) ?? 0) - 1;
      if (n > 0) counts.set(d, n);
      else counts.delete(d);
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      write().then(
        () => schedule(renewMs),
        (e) => {
          options.onError?.(e);
          // Sooner than a renewal: the lease runs out at ttlMs, and two renewals fit before it.
          schedule(Math.min(renewMs, 1_000));
        },
      );
    }, delayMs);
    // A heartbeat alone does not keep a process alive.
    timer.unref?.();
  }

  const closed = () => new SharedTierError(SharedTierErrorCode.Closed, `the lease of host ${hostId} was stopped`, { details: { hostId } });

  return {
    hostId,

    async hold(digests: readonly Digest[], holdOptions = {}): Promise<LeaseHold> {
      if (stopped) throw closed();
      holdOptions.signal?.throwIfAborted();
      const names = digests.map((d) => d.toString());
      for (const d of names) counts.set(d, (counts.get(d) ?? 0) + 1);
      let released = false;
      const hold: LeaseHold = {
        digests: [...digests],
        release() {
          if (released) return;
          released = true;
          release(names);
        },
      };
      if (names.length === 0) return hold;
      try {
        const written = write();
        const signal = holdOptions.signal;
        if (signal === undefined) await written;
        else {
          await new Promise<void>((resolve, reject) => {
            const onAbort = () => reject(signal.reason);
            signal.addEventListener("abort", onAbort, { once: true });
            written.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
          });
        }
      } catch (e) {
        hold.release();
        throw e;
      }
      if (stopped) {
        hold.release();
        throw closed();
      }
      return hold;
    },

    start(): void {
      if (stopped || timer !== undefined) return;
      schedule(renewMs);
    },

    async stop(): Promise<void> {
      if (stopped) return;
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await Promise.allSettled([writing, queued]);
      counts.clear();
      await store.delete(key);
    },
  };
}
