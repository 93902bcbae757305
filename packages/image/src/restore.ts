import type { StoreBackend } from "@store/backend";
import { BackendError, BackendErrorCode, contentKey, metadataKey, metadataRoot } from "@store/backend";
import { type Digest, DigestSet, isDigest, parseDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type Layer, LayerErrorCode, type LayerGetReleaser } from "@store/layer";
import { decodeImageConfig } from "./image";
import { type MutableImageRecord, type RecordFields, newRecord, recordFields } from "./image-record";
import { mapLimit } from "./lock";

/** Something restore could not load; the rest of the store loads regardless. */
export interface ImageStoreProblem {
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

/** Codes of layer-store errors that concern one layer, not the layer store as a whole. */
const layerGoneCodes = [LayerErrorCode.NotFound, LayerErrorCode.CorruptMetadata];

// Reads overlap so that a store on disk or S3 opens at the medium's pace, not one read at a time.
const concurrency = 32;

export interface RestoredImages {
  records: Map<string, MutableImageRecord>;
  digests: DigestSet;
  problems: ImageStoreProblem[];
  /** The fields of every config that verified and decoded (restored or not), for the record cache. */
  fields: Map<string, RecordFields>;
  /** Whether the record cache given no longer matches the store (images added or gone). */
  cacheStale: boolean;
}

/**
 * moby's restore in two passes. Pass 1 walks the content, decodes each config and takes a
 * handle on its top layer; pass 2 reads `parent` metadata and links children to parents. Unlike
 * moby, a corrupt config or a missing layer is recorded as a problem (moby logs the first and
 * skips, and aborts the whole daemon start on a layer error other than "does not exist").
 * Errors of the layer store itself still abort: they say nothing about one image.
 */
export async function restoreImages(
  backend: StoreBackend,
  layers: LayerGetReleaser,
  cache?: ReadonlyMap<string, RecordFields>,
): Promise<RestoredImages> {
  const ids: Digest[] = [];
  await backend.walk((id) => {
    ids.push(id);
  });
  const problems: ImageStoreProblem[] = [];
  const records = new Map<string, MutableImageRecord>();

  const known = new Map<string, RecordFields>();
  let decoded = 0;
  await mapLimit(ids, concurrency, async (id) => {
    let fields = cache?.get(id.toString());
    if (!fields) {
      try {
        // The history is checked, not kept: records need none of it. Names are built on failure only.
        fields = recordFields(decodeImageConfig(await backend.get(id), () => `image ${id} (${contentKey(id)})`, false));
      } catch (e) {
        if (!isStoreError(e) || isStoreError(e, BackendErrorCode.Io) || isStoreError(e, BackendErrorCode.Closed)) throw e;
        problems.push({ kind: "invalid-config", digest: id, key: contentKey(id), message: e.message, cause: e });
        return;
      }
      decoded++;
    }
    known.set(id.toString(), fields);
    let layer: Layer | undefined;
    if (fields.chainId) {
      try {
        layer = await layers.get(fields.chainId);
      } catch (e) {
        if (!isStoreError(e, layerGoneCodes)) throw e;
        problems.push({
          kind: "layer-missing",
          digest: id,
          key: contentKey(id),
          message: `image ${id}: layer ${fields.chainId} does not exist, not restoring the image: ${e.message}`,
          cause: e,
        });
        return;
      }
    }
    records.set(id.toString(), newRecord(id, fields, layer));
  });
  // On failure the handles taken so far are not released: releasing the last handle deletes a
  // layer, and a half-open store must never cost a layer. They die with the process.
  const all = [...records.values()];
  // Most images have no metadata at all: one listing of the metadata directories says which do,
  // instead of a lookup per image (on disk a failed open each; on S3 a GET each).
  const withMetadata = await metadataOwners(backend, new Set(all.map((r) => r.id.algorithm)));
  await mapLimit(
    all.filter((r) => withMetadata.has(r.id.toString())),
    concurrency,
    async (record) => {
      // Straight from the driver: the content was read and verified in pass 1, so the existence
      // check getMetadata makes first would only stat every file again.
      const key = metadataKey(record.id, "parent");
      let data: Uint8Array | undefined;
      try {
        data = await backend.driver.read(key);
      } catch (e) {
        throw ioError(backend, "read", key, e);
      }
      if (data === undefined) return;
      const text = Buffer.from(data).toString("utf8");
      if (!isDigest(text)) {
        problems.push({
          kind: "invalid-parent",
          digest: record.id,
          key,
          message: `image ${record.id}: parent metadata ${JSON.stringify(text.slice(0, 100))} is not a digest; ignored`,
        });
        return;
      }
      record.parent = parseDigest(text);
    },
  );
  // Linked after all reads so the order of children never depends on I/O timing.
  for (const record of all) {
    if (record.parent) records.get(record.parent.toString())?.children.add(record.id.toString());
  }

  const digests = new DigestSet(all.map((r) => r.id));
  problems.sort((a, b) => (a.digest.encoded < b.digest.encoded ? -1 : a.digest.encoded > b.digest.encoded ? 1 : 0));
  // Stale when a config had to be decoded, or the cache names images that are gone.
  const cacheStale = cache === undefined || decoded > 0 || cache.size !== known.size;
  return { records, digests, problems, fields: known, cacheStale };
}

/** The images (as `algorithm:hex`) that have a metadata directory, by listing `metadata/<algorithm>`. */
async function metadataOwners(backend: StoreBackend, algorithms: Set<string>): Promise<Set<string>> {
  const owners = new Set<string>();
  for (const algorithm of algorithms) {
    const prefix = `${metadataRoot}/${algorithm}`;
    try {
      for await (const name of backend.driver.list(prefix)) owners.add(`${algorithm}:${name}`);
    } catch (e) {
      throw ioError(backend, "list", prefix, e);
    }
  }
  return owners;
}

/** A driver failure as the backend reports its own (ERR_BACKEND_IO naming the key). */
function ioError(backend: StoreBackend, operation: string, key: string, e: unknown): unknown {
  if (isStoreError(e)) return e;
  return new BackendError(BackendErrorCode.Io, `${backend.name}: ${operation} ${key}: ${(e as Error)?.message ?? e}`, {
    cause: e,
    details: { key, operation },
  });
}
