import { createReadStream } from "node:fs";
import {
  type Algorithm,
  type ByteSource,
  Canonical,
  type Digest,
  DigestErrorCode,
  Digest as DigestClass,
  algorithms,
  digestFromBytes,
  hashingStream,
  isAlgorithm,
  toDigest,
  verifyStream,
} from "@store/digest";
import { type StoreError, isStoreError } from "@store/errors";
import type { BackendDriver } from "./driver";
import { BackendError, BackendErrorCode } from "./errors";
import { assertMetadataKey, contentKey, contentRoot, metadataKey, metadataPrefix, metadataRoot } from "./keys";
import { readAhead } from "./read-ahead";
import type { BackendCapabilities, SetStreamOptions, StoreBackend, WalkFilter } from "./store-backend";

const defaults: BackendCapabilities = { persistent: false, shared: false, conditionalCreate: false };

// Reads walkMetadata keeps in flight: a store on disk or S3 is read at the medium's pace, not
// one read at a time (restore reads thousands of `parent` files through it).
const metadataReadAhead = 32;

const lowerHex = /^[0-9a-f]*$/;

/** Content is immutable: every content write is create-only. */
const createOnly = { ifAbsent: true } as const;

/**
 * Builds a StoreBackend from a driver's primitives. Everything the contract promises beyond
 * storing bytes — digests parsed at the edge, verification on every read, metadata-key checks,
 * content-must-exist for metadata, skipping stray names in walks, refusing empty or mismatched
 * content, create-only content writes — lives here, so every backend behaves the same and a new
 * one is a few primitives.
 */
export function createBackend(driver: BackendDriver): StoreBackend {
  let closed = false;
  const capabilities: BackendCapabilities = { ...defaults, ...driver.capabilities };

  const open = (): void => {
    if (closed) throw new BackendError(BackendErrorCode.Closed, `${driver.name} backend is closed`);
  };

  const ioFailure = (what: string, key: string, e: unknown): unknown =>
    isStoreError(e)
      ? e
      : new BackendError(BackendErrorCode.Io, `${driver.name}: ${what} ${key}: ${(e as Error)?.message ?? e}`, {
          cause: e,
          details: { key, operation: what },
        });

  // Driver failures become ERR_BACKEND_IO naming the key; our own errors pass through.
  async function io<T>(what: string, key: string, op: () => Promise<T>): Promise<T> {
    open();
    try {
      return await op();
    } catch (e) {
      throw ioFailure(what, key, e);
    }
  }

  const notFound = (id: Digest, key?: string) =>
    new BackendError(BackendErrorCode.NotFound, key === undefined ? `content ${id}: not found` : `metadata ${JSON.stringify(key)} of ${id}: not found`, {
      details: key === undefined ? { digest: id.toString() } : { digest: id.toString(), key },
    });

  // Collected before the walk's callback runs, so fn may delete what it is handed.
  const list = (prefix: string, startsWith?: string): Promise<string[]> =>
    io("list", prefix, async () => {
      const options = startsWith ? { startsWith } : undefined;
      if (driver.listAll) return driver.listAll(prefix, options);
      const names: string[] = [];
      for await (const name of driver.list(prefix, options)) names.push(name);
      return names;
    });

  function checkFilter(filter: WalkFilter | undefined): void {
    if (!filter) return;
    const { algorithm, encodedPrefix } = filter;
    if (algorithm !== undefined && !isAlgorithm(algorithm)) {
      throw new BackendError(BackendErrorCode.InvalidFilter, `invalid walk filter: unknown algorithm ${JSON.stringify(algorithm)}`, {
        details: { algorithm },
      });
    }
    if (encodedPrefix !== undefined && (typeof encodedPrefix !== "string" || !lowerHex.test(encodedPrefix))) {
      throw new BackendError(BackendErrorCode.InvalidFilter, `invalid walk filter: encoded prefix ${JSON.stringify(encodedPrefix)} is not lowercase hex`, {
        details: { encodedPrefix },
      });
    }
  }

  /**
   * The digests named under `root/<algorithm>/` (content or metadata), sorted by algorithm then
   * hex, filtered. Names that are not digests (temp files, strays) are skipped, as dockerd does.
   * `listRoot` lists `root` first to skip algorithms with nothing stored; without it each
   * algorithm's directory is listed as is (an absent one lists empty).
   */
  async function namedIds(root: string, filter: WalkFilter | undefined, listRoot: boolean): Promise<Digest[]> {
    const present = listRoot ? new Set(await list(root)) : undefined;
    const startsWith = filter?.encodedPrefix || undefined;
    const ids: Digest[] = [];
    for (const algorithm of [...algorithms].sort()) {
      if ((present && !present.has(algorithm)) || (filter?.algorithm !== undefined && filter.algorithm !== algorithm)) continue;
      const names = await list(`${root}/${algorithm}`, startsWith);
      names.sort();
      for (const name of names) {
        if (startsWith !== undefined && !name.startsWith(startsWith)) continue;
        try {
          ids.push(DigestClass.fromHex(algorithm, name));
        } catch {
          // not a digest: skipped
        }
      }
    }
    return ids;
  }

  const verificationFailed = (id: Digest, key: string, actual: Digest) =>
    new BackendError(BackendErrorCode.VerificationFailed, `content ${id}: failed to verify: its bytes hash to ${actual}`, {
      details: { digest: id.toString(), actual: actual.toString(), key },
    });

  const contentMismatch = (e: StoreError) => new BackendError(BackendErrorCode.ContentMismatch, e.message, { cause: e, details: e.details });

  const emptyContent = () => new BackendError(BackendErrorCode.EmptyContent, "invalid empty content: refusing to store zero bytes");

  async function assertExists(id: Digest): Promise<void> {
    const key = contentKey(id);
    if ((await io("stat", key, () => driver.stat(key))) === undefined) throw notFound(id);
  }

  const backend: StoreBackend = {
    name: driver.name,
    capabilities,

    async walk(fn, filter) {
      checkFilter(filter);
      for (const id of await namedIds(contentRoot, filter, true)) {
        // Awaited only when fn returns a promise: a walk of 10,000 names with a synchronous
        // callback would otherwise pay a microtask per name.
        const pending = fn(id);
        if (pending) await pending;
      }
    },

    async get(digest) {
      const id = toDigest(digest);
      const key = contentKey(id);
      const data = await io("read", key, () => driver.read(key));
      if (data === undefined) throw notFound(id);
      const actual = digestFromBytes(data, id.algorithm);
      if (!actual.equals(id)) throw verificationFailed(id, key, actual);
      return data;
    },

    async set(data, algorithm: Algorithm = Canonical) {
      open();
      if (data.byteLength === 0) throw emptyContent();
      const id = digestFromBytes(data, algorithm);
      const key = contentKey(id);
      // Content-addressed: what is there already is these very bytes, unless it was corrupted.
      // dockerd's Set rewrites every time, which heals a corrupted file; we read first (set()
      // serves small configs) and write only when nothing is there, or what is there does not
      // verify. The write is create-only, as every content write: a corrupted object is removed
      // first, so a racing writer of the same (good) bytes is never replaced, only joined.
      const existing = await io("read", key, () => driver.read(key));
      if (existing !== undefined && digestFromBytes(existing, algorithm).equals(id)) return id;
      if (existing !== undefined) await io("remove", key, () => driver.remove(key));
      await io("write", key, () => driver.write(key, data, createOnly));
      return id;
    },

    async has(digest) {
      const key = contentKey(toDigest(digest));
      return (await io("stat", key, () => driver.stat(key))) !== undefined;
    },

    async info(digest) {
      const id = toDigest(digest);
      const key = contentKey(id);
      const stat = await io("stat", key, () => driver.stat(key));
      if (stat === undefined) return undefined;
      return stat.modifiedAt === undefined ? { digest: id, size: stat.size } : { digest: id, size: stat.size, modifiedAt: stat.modifiedAt };
    },

    async delete(digest) {
      const id = toDigest(digest);
      // dockerd's order: metadata first, so a crash in between leaves content without stale metadata.
      const prefix = metadataPrefix(id);
      await io("remove", prefix, () => driver.removePrefix(prefix));
      const key = contentKey(id);
      await io("remove", key, () => driver.remove(key));
    },

    async setMetadata(digest, key, data) {
      const id = toDigest(digest);
      assertMetadataKey(key);
      await assertExists(id);
      const k = metadataKey(id, key);
      // Metadata is mutable (lastUpdated is rewritten): a plain replacing write.
      await io("write", k, () => driver.write(k, data));
    },

    async getMetadata(digest, key) {
      const id = toDigest(digest);
      assertMetadataKey(key);
      await assertExists(id);
      const k = metadataKey(id, key);
      const data = await io("read", k, () => driver.read(k));
      if (data === undefined) throw notFound(id, key);
      return data;
    },

    async deleteMetadata(digest, key) {
      const id = toDigest(digest);
      assertMetadataKey(key);
      const k = metadataKey(id, key);
      await io("remove", k, () => driver.remove(k));
    },

    async walkMetadata(key, fn, filter) {
      assertMetadataKey(key);
      checkFilter(filter);
      // Most content has no metadata at all: one listing of the metadata directories says which
      // does, instead of a lookup per content (on disk a failed open each; on S3 a GET each).
      // Each algorithm's directory is listed directly: `metadata/` holds only deeper prefixes,
      // which some S3-compatible servers (s3rver) leave out of a delimited listing.
      const owners = await namedIds(metadataRoot, filter, false);
      await readAhead(
        owners,
        metadataReadAhead,
        (id) => {
          const k = metadataKey(id, key);
          return io("read", k, () => driver.read(k));
        },
        (id, value) => (value === undefined ? undefined : fn(id, value)),
      );
    },

    async getStream(digest) {
      const id = toDigest(digest);
      const key = contentKey(id);
      const source = await io("read", key, () => driver.readStream(key));
      if (source === undefined) throw notFound(id);
      return (async function* () {
        try {
          yield* verifyStream(source, id, { what: `content ${id}` });
        } catch (e) {
          if (isStoreError(e, DigestErrorCode.Mismatch)) {
            throw new BackendError(BackendErrorCode.VerificationFailed, `content ${id}: failed to verify: ${e.message}`, {
              cause: e,
              details: { digest: id.toString(), key },
            });
          }
          throw ioFailure("read", key, e);
        }
      })();
    },

    async setStream(source: ByteSource, options: SetStreamOptions = {}) {
      open();
      const { size } = options;
      const expected = options.expected === undefined ? undefined : toDigest(options.expected);
      const algorithm = expected?.algorithm ?? options.algorithm ?? Canonical;
      if (!isAlgorithm(algorithm)) throw new TypeError(`unknown algorithm ${String(algorithm)}`);
      if (size === 0 || expected?.equals(digestFromBytes(new Uint8Array(0), expected.algorithm))) throw emptyContent();
      const hashed = expected ? undefined : hashingStream(source, algorithm);
      const stream = expected ? verifyStream(source, expected, { size, what: `content ${expected}` }) : hashed!.stream;
      // When the digest is known in advance, short-cut content we hold already.
      if (expected && (await io("stat", contentKey(expected), () => driver.stat(contentKey(expected)))) !== undefined) {
        try {
          for await (const _ of stream) void _; // still verify what the caller sent
        } catch (e) {
          if (isStoreError(e, DigestErrorCode.Mismatch)) throw contentMismatch(e);
          throw e;
        }
        return expected;
      }
      let staged;
      try {
        staged = await driver.stage(stream, { key: expected ? contentKey(expected) : undefined, size });
      } catch (e) {
        if (isStoreError(e, DigestErrorCode.Mismatch)) throw contentMismatch(e);
        if (isStoreError(e)) throw e;
        throw new BackendError(BackendErrorCode.Io, `${driver.name}: staging content: ${(e as Error)?.message ?? e}`, { cause: e });
      }
      try {
        const result = hashed?.result();
        const id = expected ?? result!.digest;
        if (!expected) {
          if (result!.size === 0) throw emptyContent();
          if (size !== undefined && result!.size !== size) {
            throw new BackendError(BackendErrorCode.ContentMismatch, `content ${id}: ${result!.size} bytes, expected ${size}`, {
              details: { digest: id.toString(), size, actualSize: result!.size },
            });
          }
        }
        const key = contentKey(id);
        // Create-only: a racing writer that published the same digest first wins, and the
        // driver drops what we staged (the same bytes).
        await io("commit", key, () => staged.commit(key, createOnly));
        return id;
      } catch (e) {
        await staged.abort().catch(() => undefined);
        throw e;
      }
    },

    async setFile(path, options) {
      open();
      const expected = toDigest(options.expected);
      const key = contentKey(expected);
      const staged = options.verified && driver.stageFile ? await io("stage", key, () => driver.stageFile!(path, { key, size: options.size })) : undefined;
      // Not verified by the caller, or no way to take the file as it is: streamed, and hashed.
      if (!staged) return backend.setStream(createReadStream(path, { highWaterMark: 1 << 20 }), options);
      try {
        await io("commit", key, () => staged.commit(key, createOnly));
        return expected;
      } catch (e) {
        await staged.abort().catch(() => undefined);
        throw e;
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      await driver.close?.();
    },
  };
  return backend;
}
