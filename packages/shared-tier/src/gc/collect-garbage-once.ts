import { randomUUID } from "node:crypto";
import type { ContentInfo } from "@store/backend";
import type { Digest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { mapLimit } from "@store/internal";
import { MetadataErrorCode, type MetadataStore } from "@store/metadata";
import { assertDuration, assertHostId } from "../option-checks";
import { parseClaimRecord } from "../ingest/claim-record";
import { SharedKeys } from "../layout";
import { readLiveLeases } from "../leases/read-live-leases";
import { encodeRecord, readRecord } from "../record-codec";
import type { SharedState } from "../references/shared-state";
import type { CollectGarbage, GarbageReport } from "./collect-garbage";
import { type CollectionRecord, isActive, parseCollectionRecord } from "./collection-record";

// Requests in flight at once against the bucket: HEADs of candidates, deletes.
const parallel = 8;

/**
 * {@link CollectGarbage}, in its four phases. Leases are read before the state each time: a
 * writer appends its record before it releases its lease, so a lease missing from the read means
 * the record is in the state read after it.
 *
 * Why a blob another host is about to reference survives (distribution#3045): that host holds a
 * lease on it before looking, then looks at the blob and at `gc/`. If it looked before phase 2
 * published the candidates, phase 3 reads its lease and keeps the blob; if after, it sees this
 * run pending and waits for it to end, then looks again (and uploads again if the blob is gone).
 */
export const collectGarbage: CollectGarbage = async (options) => {
  const { blobs, metadata, log, hostId, signal } = options;
  assertHostId(hostId);
  const graceMs = options.graceMs ?? 10 * 60_000;
  assertDuration("graceMs", graceMs, "zero allowed");
  const skew = options.clockSkewMs ?? 30_000;
  assertDuration("clockSkewMs", skew, "zero allowed");
  const deadlineMs = options.deadlineMs ?? 5 * 60_000;
  assertDuration("deadlineMs", deadlineMs);
  const now = options.now ?? Date.now;
  const dryRun = options.dryRun === true;
  const report: GarbageReport = { examined: 0, unreferenced: 0, leased: 0, young: 0, deleted: [], freedBytes: 0, stoppedAtDeadline: false };
  // Unknown age counts as young: a medium that records no time never loses a blob to the window.
  const isYoung = (info: ContentInfo, at: number) => info.modifiedAt === undefined || at - info.modifiedAt.getTime() < graceMs;

  // (1) Leases, then the state, then the blobs: candidates are unreached, unleased and old.
  const started = now();
  const leased = await readLiveLeases(metadata, { now: started, clockSkewMs: skew });
  const reached = reachable(await log.refresh({ signal }));
  const unreached: Digest[] = [];
  await blobs.walk((id) => {
    report.examined++;
    if (!reached.has(id.toString())) unreached.push(id);
  });
  report.unreferenced = unreached.length;
  const marked: Digest[] = [];
  await mapLimit(unreached, parallel, async (id) => {
    signal?.throwIfAborted();
    if (leased.has(id.toString())) {
      report.leased++;
      return;
    }
    const info = await blobs.info(id);
    if (info === undefined) return; // deleted meanwhile (another run)
    if (isYoung(info, started)) report.young++;
    else marked.push(id);
  });
  const candidates = sortDigests(marked);
  await options.onPhase?.("marked", candidates);

  // (2) Published before any delete: a writer that finds a candidate present now waits.
  const deadline = started + deadlineMs;
  const run = candidates.length > 0 && !dryRun ? await publish(metadata, hostId, started, deadline, candidates) : undefined;
  await options.onPhase?.("published", candidates);

  try {
    // (3) Again, leases then state: whatever became reachable or leased since (1) stays.
    const leasedNow = await readLiveLeases(metadata, { now: now(), clockSkewMs: skew });
    const reachedNow = reachable(await log.refresh({ signal }));
    const doomed: Digest[] = [];
    for (const id of candidates) {
      if (reachedNow.has(id.toString())) report.unreferenced--;
      else if (leasedNow.has(id.toString())) report.leased++;
      else doomed.push(id);
    }
    await options.onPhase?.("rechecked", doomed);

    await mapLimit(doomed, parallel, async (id) => {
      signal?.throwIfAborted();
      // Past the deadline writers no longer wait for this run: deleting now could race them.
      if (now() > deadline) {
        report.stoppedAtDeadline = true;
        return;
      }
      // A blob deleted by another run and uploaded again since (1) is young again.
      const info = await blobs.info(id);
      if (info === undefined) return;
      if (isYoung(info, now())) {
        report.young++;
        return;
      }
      if (!dryRun) await blobs.delete(id);
      report.deleted.push(id);
      report.freedBytes += info.size;
    });
  } finally {
    // (4) Done, even after a failure: writers waiting for this run go on at once.
    if (run !== undefined) await markDone(metadata, run, now()).catch(() => undefined);
  }
  report.deleted = sortDigests(report.deleted);
  if (!dryRun) await sweepRecords(metadata, now(), graceMs, skew);
  return report;
};

/** What the state keeps: every image's manifest, config (its ID) and layers, every referenced image, and the documents digest references name. */
function reachable(state: SharedState): Set<string> {
  const reached = new Set<string>();
  for (const image of state.images.values()) {
    reached.add(image.id);
    reached.add(image.manifest.digest);
    for (const layer of image.layers) reached.add(layer.digest);
  }
  for (const [ref, image] of state.references) {
    reached.add(image);
    // A digest reference names the document it was pulled by (a registry's index): kept too.
    const at = ref.lastIndexOf("@");
    if (at >= 0) reached.add(ref.slice(at + 1));
  }
  return reached;
}

function sortDigests(digests: Digest[]): Digest[] {
  return digests
    .map((d) => [d.toString(), d] as const)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, d]) => d);
}

interface PublishedRun {
  key: string;
  version: string;
  record: CollectionRecord;
}

async function publish(metadata: MetadataStore, hostId: string, started: number, deadline: number, candidates: Digest[]): Promise<PublishedRun> {
  const key = `${SharedKeys.gc}/${String(started).padStart(15, "0")}-${hostId}-${randomUUID().slice(0, 8)}`;
  const record: CollectionRecord = {
    v: 1,
    host: hostId,
    state: "pending",
    started: new Date(started).toISOString(),
    deadline: new Date(deadline).toISOString(),
    candidates: candidates.map((d) => d.toString()),
  };
  return { key, record, version: await metadata.putIfAbsent(key, encodeRecord(record)) };
}

async function markDone(metadata: MetadataStore, run: PublishedRun, at: number): Promise<void> {
  const done: CollectionRecord = { ...run.record, state: "done", finished: new Date(at).toISOString() };
  await metadata.putIfVersion(run.key, encodeRecord(done), run.version);
}

/**
 * Removes records nobody needs: runs done more than the grace period ago, runs that died pending
 * and are past their deadline, and upload claims that expired more than the grace period ago (their
 * owners died). Each by its version, so a record changed meanwhile stays. Best effort: a record
 * that does not parse is left for someone to look at.
 */
async function sweepRecords(metadata: MetadataStore, at: number, graceMs: number, skew: number): Promise<void> {
  const removeAt = async (key: string, version: string) => {
    await metadata.delete(key, { ifVersion: version }).catch((e) => {
      if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
    });
  };
  await mapLimit(await metadata.list(SharedKeys.gc), parallel, async (key) => {
    const record = await metadata.get(key);
    if (record === undefined) return;
    let run: CollectionRecord;
    try {
      run = parseCollectionRecord(key, record.data);
    } catch {
      return;
    }
    const over = run.state === "done" ? Date.parse(run.finished ?? run.deadline) + graceMs < at : !isActive(run, at, skew);
    if (over) await removeAt(key, record.version);
  });
  await mapLimit(await metadata.list(SharedKeys.ingest), parallel, async (key) => {
    const record = await readRecord(metadata, key, parseClaimRecord);
    if (record === undefined) return;
    if (Date.parse(record.value.expires) + graceMs + skew < at) await removeAt(key, record.version);
  });
}
