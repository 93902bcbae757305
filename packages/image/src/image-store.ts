import { BackendErrorCode, type StoreBackend } from "@store/backend";
import { type Digest, DigestErrorCode, type DigestLike, DigestSet, digestFromBytes, parseDigest, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type Layer, LayerErrorCode, type LayerGetReleaser, type LayerMetadata } from "@store/layer";
import { ImageError, ImageErrorCode } from "./errors";
import { type GoTime, formatGoTime, nowGoTime, parseGoTime } from "./go-time";
import { type Image, parseImageConfig } from "./image";
import { type ImageRecord, type MutableImageRecord, addChild, newRecord, recordFields, removeChild } from "./image-record";
import { AsyncMutex, mapLimit } from "@store/internal";
import type { MetadataStore } from "@store/metadata";
import { type ConfigStamp, type RecordCacheRead, readRecordCache, recordCacheKey, writeRecordCache } from "./record-cache";
import { type ImageStoreProblem, restoreImages } from "./restore";

export interface ImageStoreOptions {
  /** Where configs and their metadata live (dockerd's imagedb). */
  backend: StoreBackend;
  /** The layer store: each image keeps a handle on its top layer. */
  layers: LayerGetReleaser;
  /**
   * Where to keep a record cache: what restore keeps of each config, so that the next open reads
   * one record instead of every config. Opt-in, because it makes verification lazy: a cached
   * image's config is verified when read (`get`, `map`, inspect…), not at open. See the README
   * ("Opening fast") for why that is safe.
   */
  recordCache?: MetadataStore;
  /** The record cache's key in `recordCache` (default `image-records.json`). */
  recordCacheKey?: string;
  /**
   * How to stamp a config without reading it (for files: size, inode, mtime, ctime): the record
   * cache then trusts an entry only while its config's stamp is unchanged, so a config changed on
   * disk is read and verified again at open (and not listed if damaged). Without it, cached
   * configs are verified lazily, when read.
   */
  configStamp?: ConfigStamp;
}

/**
 * dockerd's image store (moby image.Store): configs stored verbatim under their sha256, the
 * image's top layer retained, parent links in metadata. Opened with {@link createImageStore}.
 */
export interface ImageStore {
  readonly backend: StoreBackend;
  /** What restore could not load (corrupt configs, missing layers, bad parent links, a damaged record cache). */
  readonly problems: readonly ImageStoreProblem[];

  /**
   * Stores config bytes verbatim and returns their ID. The config must decode with a `rootfs`;
   * non-empty history entries must not outnumber diff IDs; the top layer must exist and is
   * retained. Creating an image that exists takes no second layer reference.
   */
  create(config: Uint8Array): Promise<Digest>;
  /** The image, its config read back (verified) from the backend; ERR_IMAGE_NOT_FOUND. */
  get(id: DigestLike): Promise<Image>;
  has(id: DigestLike): boolean;
  /** The in-memory record (parent, created, labels, layer, size) without reading the config. */
  record(id: DigestLike): ImageRecord | undefined;
  /** Removes the image, unlinks its parent and children, releases its layer: what was removed. */
  delete(id: DigestLike): Promise<LayerMetadata[]>;
  /** The image a hex prefix (optionally `sha256:`-prefixed) names; "No such image" or ambiguous. */
  search(term: string): Digest;
  /** The shortest unambiguous prefix of an ID's hex, at least `min` long (docker shows 12). */
  shortId(id: DigestLike, min?: number): string;
  /** Links `id` to `parent` (both must exist), replacing any previous parent. */
  setParent(id: DigestLike, parent: DigestLike): Promise<void>;
  getParent(id: DigestLike): Digest | undefined;
  /** Records when the image was last tagged (`lastUpdated`, RFC 3339 with nanoseconds, local zone). */
  setLastUpdated(id: DigestLike, time?: GoTime): Promise<void>;
  getLastUpdated(id: DigestLike): Promise<GoTime | undefined>;
  /** Marks the image as built on this host (`builtLocally`). */
  setBuiltLocally(id: DigestLike): Promise<void>;
  isBuiltLocally(id: DigestLike): Promise<boolean>;
  /** The images whose parent is `id`, sorted. */
  children(id: DigestLike): Digest[];
  /** How many images have `id` as their parent (no array built: listing asks for every image). */
  childCount(id: DigestLike): number;
  /** Every image ID, sorted. */
  ids(): Digest[];
  /** Every in-memory record, sorted by ID. */
  records(): ImageRecord[];
  /** Every in-memory record in no particular order: cheaper than records() for a caller that sorts anyway. */
  unsortedRecords(): IterableIterator<ImageRecord>;
  /** Images without children, configs read (moby Heads). */
  heads(): Promise<Map<string, Image>>;
  /** Every image, configs read (moby Map). */
  map(): Promise<Map<string, Image>>;
  /** How many images the store holds. */
  len(): number;
  /** Forgets every image (layers stay retained, never deleted); does not close the backend. */
  close(): Promise<void>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Restores the store, through the record cache when there is one, and keeps the cache current.
 * Apart from createImageStore so that the store's methods do not keep the cache alive.
 */
async function restore({ backend, layers, recordCache, recordCacheKey: key = recordCacheKey, configStamp }: ImageStoreOptions) {
  let cache: RecordCacheRead = {};
  const cacheRead = recordCache ? readRecordCache(recordCache, key).then((read) => (cache = read).records) : undefined;
  const restored = await restoreImages(backend, layers, cacheRead, recordCache ? configStamp : undefined);
  // Best effort: the cache only saves the next open some reads. A store that cannot write it (a
  // read-only copy of a root, a full disk, a medium without compare-and-swap), or another
  // process that rewrote it first (its cache is as good), still opens, from the configs themselves.
  if (recordCache && restored.cacheStale) await writeRecordCache(recordCache, restored.cacheEntries(), cache.version, key).catch(() => undefined);
  const problems: ImageStoreProblem[] = restored.problems;
  if (cache.problem) {
    problems.unshift({
      kind: "invalid-record-cache",
      key,
      message: `record cache ${key}: ${cache.problem}; ignored (every config read and verified instead) and rewritten`,
    });
  }
  return { records: restored.records, holds: restored.holds, problems };
}

/** Opens an image store over `backend`, restoring what it holds (see {@link restoreImages}). */
export async function createImageStore(options: ImageStoreOptions): Promise<ImageStore> {
  const { backend } = options;
  const { records, holds, problems } = await restore(options);
  // Built on the first search or short ID: listing needs neither, and it would index every ID again.
  let digestSet: DigestSet | undefined;
  const digests = (): DigestSet => (digestSet ??= new DigestSet([...records.values()].map((r) => r.id)));
  const lock = new AsyncMutex();
  const pending = new Map<string, Promise<Digest>>();
  // Each image's lastUpdated, read once: inspect asks on every call, and most images have none,
  // which the backend tells by an error (built, thrown and caught each time). Only this store
  // writes it (the root's writer lock), so what it last wrote or read stays true.
  const lastUpdated = new Map<string, Promise<GoTime | undefined>>();
  let closed = false;

  const notFound = (term: string, cause?: unknown) => new ImageError(ImageErrorCode.NotFound, `No such image: ${term}`, { cause, details: { image: term } });

  function must(id: Digest): MutableImageRecord {
    if (closed) throw new ImageError(ImageErrorCode.Closed, "image store is closed");
    const record = records.get(id.toString());
    if (!record) throw notFound(id.toString());
    return record;
  }

  const sorted = (keys: Iterable<string>) => [...keys].sort().map((k) => records.get(k)?.id ?? parseDigest(k));

  async function read(record: MutableImageRecord): Promise<Image> {
    const raw = await backend.get(record.id);
    return { ...parseImageConfig(raw, `image ${record.id}`), id: record.id, parent: record.parent };
  }

  async function readLastUpdated(id: Digest): Promise<GoTime | undefined> {
    let data: Uint8Array;
    try {
      data = await backend.getMetadata(id, "lastUpdated");
    } catch (e) {
      if (isStoreError(e, BackendErrorCode.NotFound)) return undefined;
      throw e;
    }
    return data.byteLength === 0 ? undefined : parseGoTime(decoder.decode(data));
  }

  async function readMany(which: MutableImageRecord[]): Promise<Map<string, Image>> {
    const out = new Map<string, Image>();
    const images = await mapLimit(which, 32, async (r) => {
      try {
        return await read(r);
      } catch {
        return undefined; // moby logs "invalid image access" and leaves it out
      }
    });
    for (const img of images) if (img) out.set(img.id.toString(), img);
    return out;
  }

  const store: ImageStore = {
    backend,
    problems,

    async create(config) {
      const id = digestFromBytes(config);
      const parsed = parseImageConfig(config, `image config ${id}`);
      const nonEmpty = parsed.history.filter((h) => !h.emptyLayer).length;
      if (nonEmpty > parsed.rootFS.diffIds.length) {
        throw new ImageError(
          ImageErrorCode.InvalidConfig,
          `image config ${id}: too many non-empty layers in History section (${nonEmpty} for ${parsed.rootFS.diffIds.length} diff IDs)`,
          { details: { digest: id.toString() } },
        );
      }
      if (closed) throw new ImageError(ImageErrorCode.Closed, "image store is closed");
      const key = id.toString();
      if (records.has(key)) return id;
      // One flight per ID: concurrent creates of the same config share one layer reference.
      // Different images proceed in parallel (moby too writes the config outside its lock).
      const inflight = pending.get(key);
      if (inflight) return inflight;
      const flight = (async () => {
        // The layer first: moby stores the config before looking, leaving orphan content when
        // the layer is missing; here a failed create leaves nothing behind.
        let layer: Layer | undefined;
        if (parsed.chainId) {
          try {
            layer = await holds.acquire(parsed.chainId);
          } catch (e) {
            if (!isStoreError(e, LayerErrorCode.NotFound)) throw e;
            throw new ImageError(ImageErrorCode.LayerNotFound, `image config ${id}: failed to get layer ${parsed.chainId}: ${e.message}`, {
              cause: e,
              details: { digest: key, chainId: parsed.chainId.toString() },
            });
          }
        }
        try {
          await backend.set(config);
        } catch (e) {
          // A write can fail after its content landed (the directory's fsync, the removal of a
          // temp name, a lost S3 response): then the config is there and its layer must stay
          // held, or the root would hold an image without its layers. The error is still told.
          const landed = await backend.has(id).catch(() => false);
          if (landed) records.set(key, newRecord(id, recordFields(parsed), layer));
          else if (layer) await holds.release(layer).catch(() => undefined);
          throw e;
        }
        records.set(key, newRecord(id, recordFields(parsed), layer));
        digestSet?.add(id);
        return id;
      })().finally(() => pending.delete(key));
      pending.set(key, flight);
      return flight;
    },

    async get(idLike) {
      const id = toDigest(idLike);
      return read(must(id));
    },

    has(idLike) {
      const id = toDigest(idLike);
      return records.has(id.toString());
    },

    record(idLike) {
      const id = toDigest(idLike);
      return records.get(id.toString());
    },

    delete(idLike) {
      const id = toDigest(idLike);
      return lock.run(async () => {
        const record = must(id);
        for (const child of record.children ?? []) {
          const c = records.get(child);
          if (!c) continue;
          await backend.deleteMetadata(c.id, "parent");
          c.parent = undefined;
        }
        const parentRecord = record.parent && records.get(record.parent.toString());
        if (parentRecord) removeChild(parentRecord, id.toString());
        digestSet?.remove(id);
        records.delete(id.toString());
        lastUpdated.delete(id.toString());
        await backend.delete(id);
        return record.layer ? holds.release(record.layer) : [];
      });
    },

    search(term) {
      try {
        return digests().lookup(term);
      } catch (e) {
        if (isStoreError(e, DigestErrorCode.Ambiguous)) {
          throw new ImageError(ImageErrorCode.Ambiguous, `image ID prefix ${JSON.stringify(term)} is ambiguous: ${e.message}`, {
            cause: e,
            details: { image: term, ...e.details },
          });
        }
        if (isStoreError(e, [DigestErrorCode.NotFound, DigestErrorCode.InvalidFormat])) throw notFound(term, e);
        throw e;
      }
    },

    shortId(idLike, min = 12) {
      const id = toDigest(idLike);
      must(id);
      return digests().shortestUniquePrefix(id, min);
    },

    setParent(idLike, parentLike) {
      const id = toDigest(idLike);
      const parent = toDigest(parentLike);
      return lock.run(async () => {
        const record = must(id);
        const parentRecord = records.get(parent.toString());
        if (!parentRecord) throw notFound(parent.toString());
        // moby allows a cycle, after which history and prune walk forever.
        for (let p: MutableImageRecord | undefined = parentRecord; p; p = p.parent && records.get(p.parent.toString())) {
          if (p.id.equals(id)) {
            throw new ImageError(ImageErrorCode.Conflict, `cannot make ${parent} the parent of ${id}: it descends from ${id}`, {
              details: { digest: id.toString(), parent: parent.toString() },
            });
          }
        }
        await backend.setMetadata(id, "parent", encoder.encode(parent.toString()));
        const previous = record.parent && records.get(record.parent.toString());
        if (previous) removeChild(previous, id.toString());
        record.parent = parent;
        addChild(parentRecord, id.toString());
      });
    },

    getParent(idLike) {
      const id = toDigest(idLike);
      return must(id).parent;
    },

    async setLastUpdated(idLike, time = nowGoTime()) {
      const id = toDigest(idLike);
      must(id);
      const key = id.toString();
      try {
        await backend.setMetadata(id, "lastUpdated", encoder.encode(formatGoTime(time)));
      } catch (e) {
        // The write may or may not have landed: read it again next time.
        lastUpdated.delete(key);
        throw e;
      }
      lastUpdated.set(key, Promise.resolve(time));
    },

    async getLastUpdated(idLike) {
      const id = toDigest(idLike);
      must(id);
      const key = id.toString();
      const known = lastUpdated.get(key);
      if (known) return known;
      const read = readLastUpdated(id);
      lastUpdated.set(key, read);
      read.catch(() => {
        if (lastUpdated.get(key) === read) lastUpdated.delete(key);
      });
      return read;
    },

    async setBuiltLocally(idLike) {
      const id = toDigest(idLike);
      must(id);
      await backend.setMetadata(id, "builtLocally", new Uint8Array([1]));
    },

    async isBuiltLocally(idLike) {
      const id = toDigest(idLike);
      must(id);
      try {
        const data = await backend.getMetadata(id, "builtLocally");
        return data.byteLength > 0 && data[0] === 1;
      } catch (e) {
        if (isStoreError(e, BackendErrorCode.NotFound)) return false;
        throw e;
      }
    },

    children(idLike) {
      const id = toDigest(idLike);
      return sorted(records.get(id.toString())?.children ?? []);
    },

    childCount(idLike) {
      const id = toDigest(idLike);
      return records.get(id.toString())?.children?.size ?? 0;
    },

    ids() {
      return sorted(records.keys());
    },

    records() {
      return [...records.keys()].sort().map((k) => records.get(k)!);
    },

    unsortedRecords() {
      return records.values();
    },

    heads() {
      return readMany([...records.values()].filter((r) => r.children === undefined));
    },

    map() {
      return readMany([...records.values()]);
    },

    len() {
      return records.size;
    },

    async close() {
      // Handles are dropped, not released: releasing an image's last handle deletes its layer,
      // and closing a store must never delete anything. The layer store forgets them on exit.
      closed = true;
      records.clear();
      lastUpdated.clear();
    },
  };
  return store;
}
