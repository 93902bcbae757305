import { randomUUID } from "node:crypto";
import { sleep } from "@store/internal";
import { type Digest, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { MetadataErrorCode } from "@store/metadata";
import { SharedTierError, SharedTierErrorCode } from "../errors";
import { activeCollectionsOf, isActive, parseCollectionRecord } from "../gc/collection-record";
import { assertDuration, assertHostId } from "../option-checks";
import { SharedKeys } from "../layout";
import { pollUntil } from "../poll";
import { encodeRecord, readRecord } from "../record-codec";
import { type ClaimRecord, parseClaimRecord } from "./claim-record";
import type { EnsureBlob, EnsureBlobOptions, IngestContext } from "./ensure-blob";

/** The outcome of trying to claim an upload: ours to do, or another's to wait for. */
type ClaimOutcome = { won: true; claim: HeldClaim } | { won: false; key: string };

/** A claim this call holds: renewed while the upload runs, removed after it. */
interface HeldClaim {
  key: string;
  /** This call's ID in the claim's body. */
  id: string;
  version: string;
}

interface Settings {
  context: IngestContext;
  digest: Digest;
  prefix: string;
  claimTimeoutMs: number;
  settleMs: number;
  skew: number;
  now: () => number;
  signal?: AbortSignal;
}

/**
 * {@link EnsureBlob}: one upload per digest across the hosts sharing the tier.
 *
 * The claim `ingest/<hex>/…` elects the uploader. Where the metadata store honours conditional
 * writes there is one record, `ingest/<hex>/claim`, created by putIfAbsent and taken over with
 * putIfVersion once its `expires` has passed. Where it does not (s3rver), conditional writes are
 * only checked before writing, so two hosts could both "create" one record: there each host
 * writes a claim of its own, `ingest/<hex>/<time>-<host>-<id>` (no two hosts write one key),
 * waits `settleMs` for racing claims to land, lists them, and the lowest name among unexpired
 * claims wins; a host that finds a live claim before writing its own waits instead.
 *
 * Before answering, the blob is looked at with no collection pending that may delete it: the
 * caller's lease is written before this call, so a collection that publishes its candidates
 * after that look reads the lease in its recheck and keeps the blob (distribution#3045).
 */
export const ensureBlob: EnsureBlob = async (context, digestLike, upload, options: EnsureBlobOptions = {}) => {
  const digest = toDigest(digestLike);
  assertHostId(context.hostId);
  const claimTimeoutMs = options.claimTimeoutMs ?? 60_000;
  assertDuration("claimTimeoutMs", claimTimeoutMs);
  const settleMs = options.settleMs ?? 200;
  assertDuration("settleMs", settleMs, "zero allowed");
  const skew = options.clockSkewMs ?? 30_000;
  assertDuration("clockSkewMs", skew, "zero allowed");
  const s: Settings = {
    context,
    digest,
    prefix: `${SharedKeys.ingest}/${digest.encoded}`,
    claimTimeoutMs,
    settleMs,
    skew,
    now: options.now ?? Date.now,
    signal: options.signal,
  };
  const { blobs, metadata } = context;
  let uploaded = false;
  for (;;) {
    s.signal?.throwIfAborted();
    if (await blobs.has(digest)) {
      const runs = await activeCollectionsOf(metadata, digest.toString(), s.now(), skew);
      if (runs.length === 0) return uploaded ? "uploaded" : "present";
      // A collection may delete it: once that one ends, the blob is either kept or gone.
      for (const key of runs) await waitForCollection(s, key);
      continue;
    }
    const outcome = metadata.capabilities.conditional ? await claimOne(s) : await claimOrdered(s);
    if (!outcome.won) {
      await waitForUploader(s, outcome.key);
      continue;
    }
    await uploadUnderClaim(s, outcome.claim, upload);
    if (!(await blobs.has(digest))) {
      throw new SharedTierError(SharedTierErrorCode.NotFound, `the upload of ${digest} finished but the tier does not hold ${digest}`, {
        details: { digest: digest.toString() },
      });
    }
    uploaded = true;
    // Looked at again from the top: a collection may have started while the upload ran.
  }
};

function claimBody(s: Settings, id: string): { record: ClaimRecord; data: Uint8Array } {
  const at = s.now();
  const record: ClaimRecord = {
    v: 1,
    host: s.context.hostId,
    id,
    at: new Date(at).toISOString(),
    expires: new Date(at + s.claimTimeoutMs).toISOString(),
  };
  return { record, data: encodeRecord(record) };
}

function expired(s: Settings, claim: ClaimRecord): boolean {
  return Date.parse(claim.expires) + s.skew < s.now();
}

const isConflict = (e: unknown) => isStoreError(e, MetadataErrorCode.Conflict);

/** A conditional write or delete that lost changes nothing: someone else's state stands. */
function ignoreConflict(e: unknown): void {
  if (!isConflict(e)) throw e;
}

/** One claim record, created by putIfAbsent, taken over by putIfVersion once expired. */
async function claimOne(s: Settings): Promise<ClaimOutcome> {
  const { metadata } = s.context;
  const key = `${s.prefix}/claim`;
  const id = randomUUID();
  for (;;) {
    try {
      return { won: true, claim: { key, id, version: await metadata.putIfAbsent(key, claimBody(s, id).data) } };
    } catch (e) {
      if (!isConflict(e)) throw e;
    }
    const current = await readRecord(metadata, key, parseClaimRecord);
    if (current === undefined) continue; // released between our two requests: try again
    if (!expired(s, current.value)) return { won: false, key };
    try {
      return { won: true, claim: { key, id, version: await metadata.putIfVersion(key, claimBody(s, id).data, current.version) } };
    } catch (e) {
      // Another host took it over (or its owner renewed it) first.
      if (!isConflict(e)) throw e;
    }
  }
}

/**
 * Live claims under the digest's prefix, lowest name first. Expired ones are removed on the way:
 * their owners died (or stalled past their claim, and then their renewal finds the claim gone).
 */
async function liveClaims(s: Settings): Promise<string[]> {
  const { metadata } = s.context;
  const live: string[] = [];
  for (const key of await metadata.list(s.prefix)) {
    const record = await readRecord(metadata, key, parseClaimRecord);
    if (record === undefined) continue;
    if (!expired(s, record.value)) live.push(key);
    else await metadata.delete(key, { ifVersion: record.version }).catch(ignoreConflict);
  }
  return live.sort();
}

/** A claim of our own among others; the lowest live name wins once the racing writes have landed. */
async function claimOrdered(s: Settings): Promise<ClaimOutcome> {
  const { metadata, hostId } = s.context;
  const before = await liveClaims(s);
  if (before.length > 0) return { won: false, key: before[0]! };
  const id = randomUUID();
  const { data } = claimBody(s, id);
  // Fixed width, so names sort as times do for the next 3,000 years.
  const key = `${s.prefix}/${String(s.now()).padStart(15, "0")}-${hostId}-${id}`;
  const version = await metadata.putIfAbsent(key, data);
  await sleep(s.settleMs, s.signal);
  const after = await liveClaims(s);
  if (after[0] === key) return { won: true, claim: { key, id, version } };
  await metadata.delete(key);
  return { won: false, key: after[0] ?? key };
}

/** Runs `upload` while renewing the claim, then removes the claim whatever happened. */
async function uploadUnderClaim(s: Settings, claim: HeldClaim, upload: () => Promise<void>): Promise<void> {
  const { metadata } = s.context;
  const stop = new AbortController();
  const renewing = (async () => {
    for (;;) {
      await sleep(s.claimTimeoutMs / 3, stop.signal);
      try {
        claim.version = await metadata.putIfVersion(claim.key, claimBody(s, claim.id).data, claim.version);
      } catch (e) {
        // Taken over: this host was too slow to renew and another uploads too. Identical bytes
        // under one name, so the second upload is waste, never damage; stop claiming.
        if (isConflict(e)) return;
        // A failed renewal is tried again at the next beat; the claim outlives two misses.
      }
    }
  })().catch(() => undefined);
  try {
    await upload();
  } finally {
    stop.abort();
    await renewing;
    // Taken over meanwhile (a conflict): the claim is the new owner's to remove.
    await metadata.delete(claim.key, { ifVersion: claim.version }).catch(ignoreConflict);
  }
}

/** Waits until the blob appears, or the claim at `key` is gone or expired (then the caller claims again). */
async function waitForUploader(s: Settings, key: string): Promise<void> {
  const { blobs, metadata } = s.context;
  await pollUntil(
    async () => {
      if (await blobs.has(s.digest)) return true;
      const record = await readRecord(metadata, key, parseClaimRecord);
      if (record === undefined || expired(s, record.value)) return true;
      return undefined;
    },
    { signal: s.signal },
  );
}

/** Waits until the collection at `key` is done, gone, or past its deadline. */
async function waitForCollection(s: Settings, key: string): Promise<void> {
  const { metadata } = s.context;
  await pollUntil(
    async () => {
      const record = await readRecord(metadata, key, parseCollectionRecord);
      if (record === undefined || !isActive(record.value, s.now(), s.skew)) return true;
      return undefined;
    },
    { signal: s.signal },
  );
}
