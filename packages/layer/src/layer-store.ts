import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { type ByteSource, type Digest, type DigestLike, Canonical, chainId as chainIdOf, toDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { type GraphDriver, createDriver } from "@store/graphdriver";
import { splitTar } from "@store/tar-split";
import { AsyncMutex } from "@store/internal";
import { type Compression, decompressAs, sniffCompression } from "./decompress";
import { layerTarStream, readLayerTarSplit } from "./tar-rebuild";
import { LayerError, LayerErrorCode } from "./errors";
import { type Expectation, type ExpectedLayer, type LayerBlob, blobTooLong, checkExpected, parseExpected } from "./layer-verification";
import { type MeasuredStream, measuredStream } from "./measured-stream";
import { createFsLayerMetadataStore } from "./fs-metadata-store";
import type { Layer, LayerGetReleaser, LayerMetadata } from "./layer";
import type { LayerMetadataStore, LayerRecord } from "./metadata-store";
import { type RWLayer, type CreateRWLayerOptions, createRWLayerHandle } from "./rw-layer";

/** A layer tar unpacked into a cache dir of the driver, not (yet) in the store. */
interface Extracted {
  cacheId: string;
  diffId: Digest;
  size: number;
  /** The bytes as received, and their compression. */
  blob: LayerBlob;
  compression: Compression;
  /** `tar-split.json.gz`, still being compressed. */
  tarSplit: Promise<Uint8Array>;
  /** Set once the store took it: its cache dir is then a layer's, not the extractor's to remove. */
  committed?: boolean;
}

/** dockerd refuses to stack more layers than this (moby layer_store.go maxLayerDepth). */
export const MAX_LAYER_DEPTH = 125;

// Bytes after a layer tar's end blocks go into its tar-split, held in memory until committed.
// Tar writers pad to a record (GNU tar: 10 KiB; `-b 2048`: 1 MiB); a compressed bomb can put
// GiBs of zeros there. dockerd records whatever comes (streaming it to disk); we refuse beyond.
const MAX_TRAILING_BYTES = 16 << 20;

export interface LayerStoreOptions {
  /** A dockerd-style root: layerdb at `<root>/image/<driver>/layerdb`, driver home `<root>/<driver>`. */
  root: string;
  /** A registered driver name ("overlay2") or a driver instance. */
  driver: string | GraphDriver;
  /** Where layer metadata lives; dockerd's layerdb under `root` by default. */
  metadata?: LayerMetadataStore;
}

export interface RegisterOptions {
  /**
   * What the layer must turn out to be (its diffID; the digest and size of the bytes as
   * received). A mismatch is refused before anything is committed: `ERR_LAYER_DIFF_ID_MISMATCH`
   * or `ERR_LAYER_BLOB_MISMATCH`, naming both values; no layerdb entry, driver dir or handle stays.
   */
  expected?: ExpectedLayer;
  /**
   * Cancels the extraction, at the next chunk read: it fails with the signal's reason and
   * nothing of the layer stays. (A source that may stall for long should itself be abortable.)
   */
  signal?: AbortSignal;
}

/** What {@link LayerStore.register} and {@link StagedLayer.commit} give: the layer, and the bytes it came from. */
export interface RegisteredLayer {
  /** A handle on the layer; give it back with `release`. */
  layer: Layer;
  /**
   * The digest and size of the bytes as received (compressed, if they were), hashed in the
   * same pass as the extraction: what a manifest's layer descriptor says of them.
   */
  blob: LayerBlob;
  /** The compression found in those bytes. */
  compression: Compression;
}

/** A layer extracted by {@link LayerStore.stage}, waiting to be stacked. */
export interface StagedLayer {
  readonly diffId: Digest;
  /** The size dockerd records for it. */
  readonly size: number;
  /** The bytes it was extracted from, as received. */
  readonly blob: LayerBlob;
  readonly compression: Compression;
  /**
   * Puts it in the store on `parent` (none: a base layer) and returns a handle, as `register`
   * would have; when that chain is already there, a handle on the existing layer (the staged
   * files go away). `expected` is checked first, as `register` checks it: on a mismatch nothing
   * is committed and the staged files are removed. Once only, whatever the outcome.
   */
  commit(parent?: DigestLike, expected?: ExpectedLayer): Promise<RegisteredLayer>;
  /** Removes the extracted files (nothing if already committed or discarded). */
  discard(): Promise<void>;
}

export interface LayerStoreProblem {
  chainId?: string;
  mount?: string;
  message: string;
}

/** A layer store (moby layer.Store): read-only layers by chain ID, read-write layers by name. */
export interface LayerStore extends LayerGetReleaser {
  readonly driver: GraphDriver;
  /** What could not be loaded at open (each skipped, none fatal). */
  readonly problems: readonly LayerStoreProblem[];
  /**
   * Registers a layer tar (plain, gzip or zstd) on top of `parent` in one streaming pass: the
   * bytes are hashed as received (the blob digest), decompressed, hashed for the diffID,
   * recorded as tar-split and unpacked through the driver at once, then checked against
   * `options.expected` before anything is committed. An existing chain ID gives a new handle on
   * the layer already there.
   */
  register(source: ByteSource, parent?: DigestLike, options?: RegisterOptions): Promise<RegisteredLayer>;
  /** Whether {@link stage} works with this store's driver (it needs `GraphDriver.setParent`). */
  readonly canStage: boolean;
  /**
   * Extracts a layer tar (one pass, as {@link register}) before knowing what it goes on, e.g.
   * a layer that arrives in an archive before its parent. Nothing is in the store until
   * `commit(parent)`; `discard()` removes the extracted files. `options.expected` is checked as
   * soon as the layer is extracted (what is only known later goes to `commit`). Throws
   * `ERR_LAYER_UNSUPPORTED` when the driver cannot stack a layer afterwards (see {@link canStage}).
   */
  stage(source: ByteSource, options?: RegisterOptions): Promise<StagedLayer>;
  /** Every layer by chain ID, without taking handles. */
  map(): Map<string, Layer>;
  createRWLayer(name: string, parent: DigestLike | undefined, options?: CreateRWLayerOptions): Promise<RWLayer>;
  getRWLayer(name: string): Promise<RWLayer>;
  releaseRWLayer(layer: RWLayer): Promise<LayerMetadata[]>;
  /**
   * Lets go of the store. Mounts stay: a read-write layer mounted by one process (`store mount`)
   * outlives it, and other processes may share the root. To unmount everything under the
   * driver's home, as dockerd does at shutdown, call `driver.cleanup()`.
   */
  close(): Promise<void>;
}

/** The store's record of one layer; handles given out point at it. */
interface Entry {
  chainId: Digest;
  record: LayerRecord;
  parent: Entry | undefined;
  depth: number;
  /** Handles given out plus children stacked on it (moby's referenceCount). */
  references: number;
  handles: Set<Layer>;
  /**
   * The driver's metadata once read, with the store's `driverGeneration` then: inspect asks for
   * it on every call, and a layer's directories change only when a damaged layer's are replaced.
   */
  driverMetadata?: { generation: number; read: Promise<Record<string, string>> };
}

interface MountEntry {
  name: string;
  mountId: string;
  initId?: string;
  parent: Entry | undefined;
  handles: number;
}

const randomId = () => randomBytes(32).toString("hex");

/** Opens (or creates) a layer store, loading every layer and mount recorded in its metadata. */
export async function createLayerStore(options: LayerStoreOptions): Promise<LayerStore> {
  const driver = typeof options.driver === "string" ? await createDriver({ root: options.root, name: options.driver }) : options.driver;
  const metadata = options.metadata ?? createFsLayerMetadataStore({ root: join(options.root, "image", driver.name, "layerdb") });
  const layers = new Map<string, Entry>();
  const mounts = new Map<string, MountEntry>();
  const problems: LayerStoreProblem[] = [];
  const lock = new AsyncMutex();
  // Bumped when a layer's driver dir is replaced: every memo of driver metadata is stale then.
  let driverGeneration = 0;

  const notFound = (chainId: Digest) =>
    new LayerError(LayerErrorCode.NotFound, `layer ${chainId} does not exist`, { details: { chainId: chainId.toString() } });

  const chainSize = (e: Entry): number => e.record.size + (e.parent ? chainSize(e.parent) : 0);

  function describe(e: Entry): LayerMetadata {
    return { chainId: e.chainId, diffId: e.record.diffId, diffSize: e.record.size, size: chainSize(e) };
  }

  function view(e: Entry): Layer {
    return {
      chainId: e.chainId,
      diffId: e.record.diffId,
      get parent() {
        return e.parent ? view(e.parent) : undefined;
      },
      diffSize: e.record.size,
      get size() {
        return chainSize(e);
      },
      cacheId: e.record.cacheId,
      tarStream: () => tarStream(e),
      tarSize: async () => (await tarSplitOf(e)).size,
      openTar: async () => {
        let split: Awaited<ReturnType<typeof tarSplitOf>> | undefined = await tarSplitOf(e);
        return {
          size: split.size,
          stream: () => {
            const held = split;
            split = undefined;
            return tarStream(e, held);
          },
        };
      },
      metadata: () => {
        let memo = e.driverMetadata;
        if (memo?.generation !== driverGeneration) {
          const read = driver.metadata(e.record.cacheId);
          memo = e.driverMetadata = { generation: driverGeneration, read };
          // A failed read is not kept: the next call asks the driver again.
          read.catch(() => {
            if (e.driverMetadata?.read === read) e.driverMetadata = undefined;
          });
        }
        return memo.read.then((m) => ({ ...m }));
      },
    };
  }

  function handle(e: Entry): Layer {
    const h = view(e);
    e.references++;
    e.handles.add(h);
    return h;
  }

  // Read afresh each time: a tar-split record is small, and holding every streamed layer's
  // packets would grow without bound in a long-running process.
  const tarSplitOf = async (e: Entry) => readLayerTarSplit(await metadata.getTarSplit(e.chainId));

  async function* tarStream(e: Entry, split?: Awaited<ReturnType<typeof tarSplitOf>>): AsyncGenerator<Uint8Array> {
    const { packets, size } = split ?? (await tarSplitOf(e));
    yield* layerTarStream(driver, { chainId: e.chainId, diffId: e.record.diffId, cacheId: e.record.cacheId }, packets, size);
  }

  // Loads a layer and its parents (moby loadLayer); a child holds one reference on its parent.
  async function load(chainId: Digest, seen: Set<string>): Promise<Entry> {
    const known = layers.get(chainId.toString());
    if (known) return known;
    if (seen.has(chainId.toString())) {
      throw new LayerError(LayerErrorCode.CorruptMetadata, `layer ${chainId}: parent chain loops back to itself`);
    }
    seen.add(chainId.toString());
    const record = await metadata.get(chainId);
    if (!record) throw notFound(chainId);
    const parent = record.parent ? await load(record.parent, seen) : undefined;
    const entry: Entry = { chainId, record, parent, depth: (parent?.depth ?? 0) + 1, references: 0, handles: new Set() };
    if (parent) parent.references++;
    layers.set(chainId.toString(), entry);
    return entry;
  }

  // Drops one reference; removes what no one holds any more, cascading down (moby releaseLayer).
  async function releaseEntry(start: Entry): Promise<LayerMetadata[]> {
    const removed: LayerMetadata[] = [];
    let e: Entry | undefined = start;
    while (e) {
      e.references--;
      if (e.references > 0) break;
      layers.delete(e.chainId.toString());
      removed.push(describe(e));
      // The layerdb entry first (one rename): a failure after it (a full or failing disk) leaves
      // a driver dir nothing points at, which verify calls reclaimable, instead of an entry
      // whose files are half gone (moby removes the driver's dir first).
      await metadata.remove(e.chainId);
      await driver.remove(e.record.cacheId);
      e = e.parent;
    }
    return removed;
  }

  await metadata.cleanup();
  const listed = await metadata.list();
  for (const chainId of listed.layers) {
    try {
      await load(chainId, new Set());
    } catch (e) {
      problems.push({ chainId: chainId.toString(), message: (e as Error).message });
    }
  }
  for (const name of listed.mounts) {
    try {
      const m = await metadata.getMount(name);
      if (!m) continue;
      const parent = m.parent ? layers.get(m.parent.toString()) : undefined;
      if (m.parent && !parent) throw notFound(m.parent);
      if (parent) parent.references++;
      mounts.set(name, { name, mountId: m.mountId, initId: m.initId, parent, handles: 0 });
    } catch (e) {
      problems.push({ mount: name, message: (e as Error).message });
    }
  }

  // The parent a new layer goes on, held (one reference) until the layer is committed or not.
  function holdParent(parentId: Digest): Entry {
    const p = layers.get(parentId.toString());
    if (!p) throw notFound(parentId);
    if (p.depth >= MAX_LAYER_DEPTH) {
      throw new LayerError(LayerErrorCode.MaxDepth, `layer ${parentId}: stacking on it would exceed the maximum depth of ${MAX_LAYER_DEPTH}`, {
        details: { chainId: parentId.toString() },
      });
    }
    p.references++;
    return p;
  }

  // One streaming pass: hash the bytes as received, decompress, hash for the diffID, record the
  // tar-split and unpack through the driver into a new cache dir. On failure the cache dir is gone.
  async function extract(source: ByteSource, parent: Entry | undefined, options: RegisterOptions, expected: Expectation): Promise<Extracted> {
    const { signal } = options;
    const cacheId = randomId();
    let created = false;
    try {
      signal?.throwIfAborted();
      await driver.create(cacheId, parent?.record.cacheId);
      created = true;
      const diffAlgorithm = expected.diffId?.algorithm ?? Canonical;
      const blobAlgorithm = expected.blobDigest?.algorithm ?? Canonical;
      const { compression, stream } = await sniffCompression(source);
      const limit = expected.blobSize === undefined ? undefined : { size: expected.blobSize, tooLong: (n: number) => blobTooLong(expected.blobSize!, n) };
      // A plain tar is its own blob: one tap and one hash serve both, so an uncompressed layer
      // costs no more per chunk than before the blob was measured.
      const blobIsTar = compression === "none" && blobAlgorithm === diffAlgorithm;
      const received: MeasuredStream = measuredStream(stream, {
        algorithm: blobIsTar ? diffAlgorithm : blobAlgorithm,
        limit,
        signal,
      });
      const tar = blobIsTar ? received : measuredStream(decompressAs(compression, received.stream), { algorithm: diffAlgorithm });
      const recording = splitTar(tar.stream, { maxTrailingBytes: MAX_TRAILING_BYTES });
      const size = await driver.applyDiff(cacheId, parent?.record.cacheId, recording.entries);
      signal?.throwIfAborted();
      if (!tar.ended) throw new Error("the layer tar was not read to its end");
      // Decompressors read their input to its end (trailing bytes are an error), so this is
      // only a guard: a blob digest must cover every byte received.
      if (!received.ended) throw new Error(`data left after the end of the ${compression} stream`);
      const diffId = tar.digest()!;
      const blob: LayerBlob = { digest: blobIsTar ? diffId : received.digest()!, size: received.size };
      // Compressed in the thread pool while the caller goes on; commit waits for it.
      const tarSplit = recording.tarSplit();
      tarSplit.catch(() => undefined); // a discarded layer's never-awaited failure is no crash
      return { cacheId, diffId, size, blob, compression, tarSplit };
    } catch (e) {
      if (created) await driver.remove(cacheId).catch(() => undefined);
      if (signal?.aborted) throw signal.reason;
      if (isStoreError(e)) throw e;
      throw new LayerError(LayerErrorCode.InvalidData, `registering layer: ${(e as Error)?.message ?? e}`, { cause: e });
    }
  }

  const registered = (layer: Layer, extracted: Extracted): RegisteredLayer => ({ layer, blob: extracted.blob, compression: extracted.compression });

  // Makes an extracted layer part of the store on `parent` (already stacked there by the
  // driver). An existing chain ID gives a handle on the layer already there, and leaves the
  // extracted copy to the caller to remove.
  function commit(extracted: Extracted, parent: Entry | undefined, prepare?: () => Promise<void>, signal?: AbortSignal): Promise<Layer> {
    // Folding [parent's chain ID, diffID] is exactly sha256(parentChain + " " + diffID).
    const chainId = parent ? chainIdOf([parent.chainId, extracted.diffId])! : extracted.diffId;
    return lock.run(async () => {
      // The last moment a cancel can still leave nothing: after this the layer is the store's.
      signal?.throwIfAborted();
      const existing = layers.get(chainId.toString());
      const record: LayerRecord = { diffId: extracted.diffId, size: extracted.size, cacheId: extracted.cacheId, ...(parent ? { parent: parent.chainId } : {}) };
      if (existing) {
        if (await driver.exists(existing.record.cacheId)) return handle(existing);
        // Its driver dir is gone (a damaged root): the fresh extraction takes its place under the
        // same chain ID, so whatever holds the layer finds its data again.
        await prepare?.();
        await metadata.remove(chainId);
        await metadata.put(chainId, { ...record, ...(existing.record.parent ? { parent: existing.record.parent } : {}) }, await extracted.tarSplit);
        existing.record = { ...existing.record, size: extracted.size, cacheId: extracted.cacheId };
        // Its directories moved, and the lower dirs of every layer above it with them.
        driverGeneration++;
        extracted.committed = true;
        return handle(existing);
      }
      // Under the same lock as the check: the chain cannot appear or vanish in between.
      await prepare?.();
      // layerdb may hold the chain ID though this store did not load it: damaged (it was a
      // problem at open: a garbage diff, a bad size…), replaced by this sound copy — put would
      // keep the damaged one, and the layer would be gone again at the next open — or
      // committed by another writer since, whose copy is taken and this one left to the caller.
      const onDisk = await metadata.get(chainId).then(
        (r) => (r ? "sound" : "none"),
        (e: unknown) => {
          if (isStoreError(e, LayerErrorCode.CorruptMetadata)) return "damaged";
          throw e;
        },
      );
      if (onDisk === "sound") return handle(await load(chainId, new Set()));
      await metadata.remove(chainId);
      await metadata.put(chainId, record, await extracted.tarSplit);
      const entry: Entry = { chainId, record, parent, depth: (parent?.depth ?? 0) + 1, references: 0, handles: new Set() };
      // The new layer holds its parent: one more reference than the caller's, which it drops.
      if (parent) parent.references++;
      layers.set(chainId.toString(), entry);
      const h = handle(entry);
      extracted.committed = true;
      return h;
    });
  }

  const store: LayerStore = {
    driver,
    problems,

    async register(source, parentId, registerOptions = {}) {
      // Parsed before any work: a malformed digest or size is refused with nothing started.
      const expected = parseExpected(registerOptions.expected);
      const parentDigest = parentId === undefined ? undefined : toDigest(parentId);
      const parent = parentDigest ? await lock.run(() => holdParent(parentDigest)) : undefined;
      let extracted: Extracted | undefined;
      try {
        extracted = await extract(source, parent, registerOptions, expected);
        checkExpected(extracted, expected);
        const result = registered(await commit(extracted, parent, undefined, registerOptions.signal), extracted);
        if (extracted.committed) extracted = undefined;
        return result;
      } finally {
        // Not committed (failed, refused, or the chain was already here): nothing of it stays.
        if (extracted) await driver.remove(extracted.cacheId).catch(() => undefined);
        if (parent) await lock.run(() => releaseEntry(parent));
      }
    },

    canStage: typeof driver.setParent === "function",

    async stage(source, stageOptions = {}) {
      if (!driver.setParent) {
        throw new LayerError(LayerErrorCode.Unsupported, `the ${driver.name} driver cannot stack a layer after extracting it; register it on its parent`);
      }
      const expected = parseExpected(stageOptions.expected);
      let extracted: Extracted | undefined = await extract(source, undefined, stageOptions, expected);
      try {
        checkExpected(extracted, expected);
      } catch (e) {
        await driver.remove(extracted.cacheId).catch(() => undefined);
        throw e;
      }
      const { diffId } = extracted;
      let settled = false;
      // Once only, whatever the outcome: a failed commit removes the files too.
      const settle = (): Extracted => {
        if (settled || !extracted) {
          throw new LayerError(LayerErrorCode.StagedLayerGone, `staged layer ${diffId} was already committed or discarded`, {
            details: { diffId: diffId.toString() },
          });
        }
        settled = true;
        return extracted;
      };
      return {
        diffId: extracted.diffId,
        size: extracted.size,
        blob: extracted.blob,
        compression: extracted.compression,
        async commit(parentId, commitExpected) {
          const mine = settle();
          let parent: Entry | undefined;
          try {
            checkExpected(mine, parseExpected(commitExpected));
            const parentDigest = parentId === undefined ? undefined : toDigest(parentId);
            parent = parentDigest ? await lock.run(() => holdParent(parentDigest)) : undefined;
            const below = parent;
            // Stacked only when this copy becomes the layer (a chain already here is taken as is).
            return registered(await commit(mine, below, below ? () => driver.setParent!(mine.cacheId, below.record.cacheId) : undefined), mine);
          } finally {
            // Not committed (failed, refused, or the chain was already here): nothing of it stays.
            if (!mine.committed) await driver.remove(mine.cacheId).catch(() => undefined);
            extracted = undefined;
            const held = parent;
            if (held) await lock.run(() => releaseEntry(held));
          }
        },
        async discard() {
          if (settled || !extracted) return;
          settled = true;
          const { cacheId } = extracted;
          extracted = undefined;
          await driver.remove(cacheId);
        },
      };
    },

    async get(chainIdLike) {
      const chainId = toDigest(chainIdLike);
      return lock.run(() => {
        const e = layers.get(chainId.toString());
        if (!e) throw notFound(chainId);
        return handle(e);
      });
    },

    async release(layer) {
      return lock.run(async () => {
        const e = layers.get(layer.chainId.toString());
        if (!e) return [];
        if (!e.handles.delete(layer)) {
          throw new LayerError(LayerErrorCode.NotRetained, `layer ${layer.chainId} is not retained by this handle`, {
            details: { chainId: layer.chainId.toString() },
          });
        }
        return releaseEntry(e);
      });
    },

    map() {
      return new Map([...layers].map(([k, e]) => [k, view(e)]));
    },

    async createRWLayer(name, parentIdLike, rwOptions = {}) {
      const parentId = parentIdLike === undefined ? undefined : toDigest(parentIdLike);
      return lock.run(async () => {
        if (mounts.has(name)) {
          throw new LayerError(LayerErrorCode.MountExists, `read-write layer ${JSON.stringify(name)} already exists`, { details: { name } });
        }
        const parent = parentId ? layers.get(parentId.toString()) : undefined;
        if (parentId && !parent) throw notFound(parentId);
        const mountId = randomId();
        const initId = rwOptions.init ? `${mountId}-init` : undefined;
        const made: string[] = [];
        try {
          let below = parent?.record.cacheId;
          if (initId) {
            await driver.createReadWrite(initId, below, rwOptions);
            made.push(initId);
            const path = await driver.get(initId, rwOptions);
            try {
              await rwOptions.init!(path);
            } finally {
              await driver.put(initId);
            }
            below = initId;
          }
          await driver.createReadWrite(mountId, below, rwOptions);
          made.push(mountId);
          await metadata.putMount(name, { mountId, ...(initId ? { initId } : {}), ...(parent ? { parent: parent.chainId } : {}) });
        } catch (e) {
          for (const id of made.reverse()) await driver.remove(id).catch(() => undefined);
          await metadata.removeMount(name).catch(() => undefined);
          throw e;
        }
        if (parent) parent.references++;
        const m: MountEntry = { name, mountId, initId, parent, handles: 1 };
        mounts.set(name, m);
        return createRWLayerHandle(driver, m, parent ? view(parent) : undefined);
      });
    },

    async getRWLayer(name) {
      return lock.run(() => {
        const m = mounts.get(name);
        if (!m) throw new LayerError(LayerErrorCode.MountNotFound, `read-write layer ${JSON.stringify(name)} does not exist`, { details: { name } });
        m.handles++;
        return createRWLayerHandle(driver, m, m.parent ? view(m.parent) : undefined);
      });
    },

    async releaseRWLayer(rw) {
      return lock.run(async () => {
        const m = mounts.get(rw.name);
        if (!m)
          throw new LayerError(LayerErrorCode.MountNotFound, `read-write layer ${JSON.stringify(rw.name)} does not exist`, { details: { name: rw.name } });
        await driver.remove(m.mountId);
        if (m.initId) await driver.remove(m.initId);
        await metadata.removeMount(m.name);
        mounts.delete(m.name);
        return m.parent ? releaseEntry(m.parent) : [];
      });
    },

    async close() {
      // Deliberately not driver.cleanup(): it unmounts every mount under the home, including
      // those of other processes sharing this root.
    },
  };
  return store;
}
