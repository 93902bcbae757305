import type { Digest } from "@store/digest";
import { type PullStores, pullImage } from "@store/distribution";
import type { ProgressListener } from "@store/internal";
import { toDigest } from "@store/digest";
import { parseNormalizedNamed, trimNamed, withDigest } from "@store/reference";
import { SharedTierError, SharedTierErrorCode } from "../errors";
import type { SharedImageRecord } from "../references/reference-change";
import type { SharedState } from "../references/shared-state";
import type { SharedContext } from "./shared-context";
import { SharedRepository } from "./shared-repository";

/** Options of {@link materialiseImage}. */
export interface MaterialiseOptions {
  /** Layers downloaded at once (default 3). */
  concurrency?: number;
  /** Where partial downloads are kept between runs. */
  partialDir?: string;
  signal?: AbortSignal;
  onProgress?: ProgressListener;
}

// A name for an image the tier holds without any reference: the puller needs a repository.
const UNNAMED = "docker.io/library/shared-tier-untagged";

/**
 * Copies an image from the shared tier into this host's stores, as a pull from a registry is:
 * one flight per blob, each layer checked against its diffID before it is committed, nothing
 * visible on error. The blobs are held by this host's lease while they are read, so a
 * collection elsewhere cannot free them mid-copy. Then the image gets every reference the tier
 * holds for it. Returns the image ID.
 */
export async function materialiseImage(tier: SharedContext, stores: PullStores, id: Digest, options: MaterialiseOptions = {}): Promise<Digest> {
  const { signal } = options;
  let state = tier.log.current();
  if (!state.images.has(id.toString())) state = await tier.log.refresh(signal ? { signal } : {});
  const record = state.images.get(id.toString());
  if (!record) {
    throw new SharedTierError(SharedTierErrorCode.NotFound, `image ${id} is not in the shared tier`, { details: { id: id.toString() } });
  }
  const refs = referencesOf(state, id);
  const named = trimNamed(parseNormalizedNamed(refs[0] ?? UNNAMED));
  const hold = await tier.leases.hold(blobsOf(record), signal ? { signal } : {});
  try {
    const repo = new SharedRepository(tier.blobs, () => tier.log.current(), named.name, named.path);
    await pullImage(repo, withDigest(named, toDigest(record.manifest.digest)), stores, {
      untagged: true,
      noStatus: true,
      ...(options.concurrency ? { concurrency: options.concurrency } : {}),
      ...(options.partialDir ? { partialDir: options.partialDir } : {}),
      ...(signal ? { signal } : {}),
      ...(options.onProgress ? { onProgress: options.onProgress } : {}),
    });
  } finally {
    hold.release();
  }
  for (const ref of refs) {
    const parsed = parseNormalizedNamed(ref);
    let current: Digest | undefined;
    try {
      current = stores.references.get(parsed);
    } catch {
      current = undefined;
    }
    if (!current?.equals(id)) await stores.references.add(parsed, id, true);
  }
  return id;
}

/** Every reference the tier holds for the image, tags first. */
export function referencesOf(state: SharedState, id: Digest | string): string[] {
  const key = id.toString();
  const refs: string[] = [];
  for (const [ref, image] of state.references) if (image === key) refs.push(ref);
  return refs.sort((a, b) => Number(a.includes("@")) - Number(b.includes("@")) || (a < b ? -1 : a > b ? 1 : 0));
}

/** The blobs an image record reaches: its manifest, config and layers. */
export function blobsOf(record: SharedImageRecord): Digest[] {
  return [toDigest(record.manifest.digest), toDigest(record.id), ...record.layers.map((l) => toDigest(l.digest))];
}
