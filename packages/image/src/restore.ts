import type { StoreBackend } from "@store/backend";
import { BackendErrorCode, contentKey, metadataKey } from "@store/backend";
import { type Digest, parseDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type Layer, LayerErrorCode, type LayerGetReleaser } from "@store/layer";
import { decodeImageConfig } from "./image";
import { type MutableImageRecord, type RecordFields, addChild, newRecord, recordFields } from "./image-record";
import { LayerHolds } from "./layer-holds";
import { mapLimit } from "@store/internal";
import type { CacheEntry, CachedRecords, ConfigStamp } from "./record-cache";

/** Something restore could not load; the rest of the store loads regardless. */
export type ImageStoreProblem = ImageProblem | RecordCacheProblem;

/** An image restore could not load. */
export interface ImageProblem {
  /**
   * `invalid-config`: content that does not verify or does not decode as an image config;
   * `layer-missing`: the config's top layer is not in the layer store;
   * `invalid-parent`: `parent` metadata that is not a digest.
   */
  kind: "invalid-config" | "layer-missing" | "invalid-parent";
  /** The image (content digest) concerned. */
  digest: Digest;
  /** The backend key (a path relative to the imagedb root on disk) it came from. */
  key: string;
  message: string;
  cause?: unknown;
}

/** A record cache that was there but damaged: ignored whole (every config read instead) and rewritten. */
export interface RecordCacheProblem {
  kind: "invalid-record-cache";
  /** The cache's key in its files. */
  key: string;
  message: string;
}

/** Codes of layer-store errors that concern one layer, not the layer store as a whole. */
const layerGoneCodes = [LayerErrorCode.NotFound, LayerErrorCode.CorruptMetadata];

// Reads overlap so that a store on disk or S3 opens at the medium's pace, not one read at a time.
const concurrency = 32;

export interface RestoredImages {
  records: Map<string, MutableImageRecord>;
  /** The image store's handles on its images' layers. */
  holds: LayerHolds;
  problems: ImageProblem[];
  /** Whether the record cache given no longer matches the store (images added or gone). */
  cacheStale: boolean;
  /** The fields of every config that verified and decoded (restored or not), with its stamp, for the record cache. */
  cacheEntries(): CacheEntry[];
}

/** One layer the restored images stand on, and what the layer store said about it. */
interface Stand {
  chainId: Digest;
  images: number;
  layer?: Layer;
  size?: number;
  error?: unknown;
}

/**
 * moby's restore in two passes. Pass 1 walks the content, decodes each config (or takes it from
 * the record cache) and takes a handle on each top layer; pass 2 reads `parent` metadata and
 * links children to parents. Unlike moby, a corrupt config or a missing layer is recorded as a
 * problem (moby logs the first and skips, and aborts the whole daemon start on a layer error
 * other than "does not exist"). Errors of the layer store itself still abort: they say nothing
 * about one image. With `stampOf`, a cached entry is taken only while its config's stamp is
 * unchanged: a config changed on disk is read and verified again, and reported if damaged.
 */
export async function restoreImages(
  backend: StoreBackend,
  layers: LayerGetReleaser,
  cacheSource?: CachedRecords | Promise<CachedRecords | undefined>,
  stampOf?: ConfigStamp,
): Promise<RestoredImages> {
  const ids: Digest[] = [];
  // The cache may still be on its way (read and parsed while the walk's listing runs on the
  // thread pool): both are awaited together.
  const [cache] = await Promise.all([
    cacheSource,
    backend.walk((id) => {
      ids.push(id);
    }),
  ]);
  const problems: ImageProblem[] = [];

  // The fields of each walked image (undefined: its config did not load), cached ones first.
  const fields = new Array<RecordFields | undefined>(ids.length);
  const misses: number[] = [];
  // Taken before any read: a config changed after its stamp mismatches it at the next open.
  const stamps = stampOf ? ids.map((id) => stampOf(id)) : undefined;
  for (let i = 0; i < ids.length; i++) {
    const stamp = stamps?.[i];
    const cached = stamps && stamp === undefined ? undefined : cache?.take(ids[i]!, stamp);
    if (cached) fields[i] = cached;
    else misses.push(i);
  }
  let decoded = 0;
  await mapLimit(misses, concurrency, async (i) => {
    const id = ids[i]!;
    try {
      // The history is checked, not kept: records need none of it. Names are built on failure only.
      fields[i] = recordFields(decodeImageConfig(await backend.get(id), () => `image ${id} (${contentKey(id)})`, false));
      decoded++;
    } catch (e) {
      if (!isStoreError(e) || isStoreError(e, BackendErrorCode.Io) || isStoreError(e, BackendErrorCode.Closed)) throw e;
      problems.push({ kind: "invalid-config", digest: id, key: contentKey(id), message: e.message, cause: e });
    }
  });

  // One handle per layer, however many images stand on it (see LayerHolds).
  const stands = new Map<string, Stand>();
  for (const f of fields) {
    if (!f?.chainId) continue;
    const key = f.chainId.toString();
    const stand = stands.get(key);
    if (stand) stand.images++;
    else stands.set(key, { chainId: f.chainId, images: 1 });
  }
  const holds = new LayerHolds(layers);
  await mapLimit([...stands.values()], concurrency, async (stand) => {
    try {
      stand.layer = await holds.acquireMany(stand.chainId, stand.images);
      stand.size = stand.layer.size;
    } catch (e) {
      if (!isStoreError(e, layerGoneCodes)) throw e;
      stand.error = e;
    }
  });

  const records = new Map<string, MutableImageRecord>();
  const missingLayer: CacheEntry[] = [];
  const stampAt = new Map<string, string | undefined>();
  if (stamps) for (let i = 0; i < ids.length; i++) stampAt.set(ids[i]!.toString(), stamps[i]);
  for (let i = 0; i < ids.length; i++) {
    const f = fields[i];
    if (!f) continue;
    const id = ids[i]!;
    const stand = f.chainId && stands.get(f.chainId.toString());
    if (stand?.error) {
      const e = stand.error as Error;
      problems.push({
        kind: "layer-missing",
        digest: id,
        key: contentKey(id),
        message: `image ${id}: layer ${f.chainId} does not exist, not restoring the image: ${e.message}`,
        cause: e,
      });
      missingLayer.push([id, f, stamps?.[i]]);
      continue;
    }
    records.set(id.toString(), newRecord(id, f, stand ? stand.layer : undefined, stand ? stand.size : 0));
  }
  // On failure the handles taken so far are not released: releasing the last handle deletes a
  // layer, and a half-open store must never cost a layer. They die with the process.

  // Read in bulk through the contract: the backend lists which images have metadata at all
  // (most have none) and reads their `parent` with reads overlapping. The content was read and
  // verified in pass 1, so no existence check per image is wanted here, and walkMetadata makes none.
  await backend.walkMetadata("parent", (id, data) => {
    const record = records.get(id.toString());
    if (!record) return; // metadata of an image that did not restore, or of content gone
    const text = Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("utf8");
    // A parent in the store is named by the Digest it already has; only others are parsed.
    const parent = records.get(text)?.id ?? parseParent(text);
    if (!parent) {
      problems.push({
        kind: "invalid-parent",
        digest: record.id,
        key: metadataKey(record.id, "parent"),
        message: `image ${record.id}: parent metadata ${JSON.stringify(text.slice(0, 100))} is not a digest; ignored`,
      });
      return;
    }
    record.parent = parent;
  });
  // Linked after all reads so the order of children never depends on I/O timing.
  for (const record of records.values()) {
    if (!record.parent) continue;
    const parent = records.get(record.parent.toString());
    if (parent) addChild(parent, record.id.toString());
  }

  problems.sort((a, b) => (a.digest.encoded < b.digest.encoded ? -1 : a.digest.encoded > b.digest.encoded ? 1 : 0));
  // Stale when a config had to be decoded, or the cache names images that are gone.
  const cacheStale = cache === undefined || decoded > 0 || cache.hits !== cache.size;
  return {
    records,
    holds,
    problems,
    cacheStale,
    cacheEntries: () => [...[...records.values()].map((r): CacheEntry => [r.id, r, stampAt.get(r.id.toString())]), ...missingLayer],
  };
}

function parseParent(text: string): Digest | undefined {
  try {
    return parseDigest(text);
  } catch {
    return undefined;
  }
}
