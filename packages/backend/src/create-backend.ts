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
  verifyStream,
} from "@store/digest";
import { type StoreError, isStoreError } from "@store/errors";
import type { BackendDriver } from "./driver";
import { BackendError, BackendErrorCode } from "./errors";
import { assertMetadataKey, contentKey, contentRoot, metadataKey, metadataPrefix } from "./keys";
import type { BackendCapabilities, SetStreamOptions, StoreBackend } from "./store-backend";

const defaults: BackendCapabilities = { persistent: false, shared: false, conditionalCreate: false };

/**
 * Builds a StoreBackend from a driver's primitives. Everything the contract promises beyond
 * storing bytes — digest verification on every read, metadata-key checks, content-must-exist
 * for metadata, skipping stray names in walk, refusing empty or mismatched content — lives here,
 * so every backend behaves the same and a new one is a few primitives.
 */
export function createBackend(driver: BackendDriver): StoreBackend {
  let closed = false;
  const capabilities: BackendCapabilities = { ...defaults, ...driver.capabilities };

  const open = (): void => {
    if (closed) throw new BackendError(BackendErrorCode.Closed, `${driver.name} backend is closed`);
  };

  // Driver failures become ERR_BACKEND_IO naming the key; our own errors pass through.
  async function io<T>(what: string, key: string, op: () => Promise<T>): Promise<T> {
    open();
    try {
      return await op();
    } catch (e) {
      if (isStoreError(e)) throw e;
      throw new BackendError(BackendErrorCode.Io, `${driver.name}: ${what} ${key}: ${(e as Error)?.message ?? e}`, {
        cause: e,
        details: { key, operation: what },
      });
    }
  }

  const notFound = (id: Digest, key?: string) =>
    new BackendError(
      BackendErrorCode.NotFound,
      key === undefined ? `content ${id}: not found` : `metadata ${JSON.stringify(key)} of ${id}: not found`,
      { details: key === undefined ? { digest: id.toString() } : { digest: id.toString(), key } },
    );

  // Collected before the walk's callback runs, so fn may delete what it is handed.
  const list = (prefix: string): Promise<string[]> =>
    io("list", prefix, async () => {
      if (driver.listAll) return driver.listAll(prefix);
      const names: string[] = [];
      for await (const name of driver.list(prefix)) names.push(name);
      return names;
    });

  const verificationFailed = (id: Digest, key: string, actual: Digest) =>
    new BackendError(BackendErrorCode.VerificationFailed, `content ${id}: failed to verify: its bytes hash to ${actual}`, {
      details: { digest: id.toString(), actual: actual.toString(), key },
    });

  const contentMismatch = (e: StoreError) =>
    new BackendError(BackendErrorCode.ContentMismatch, e.message, { cause: e, details: e.details });

  async function assertExists(id: Digest): Promise<void> {
    const key = contentKey(id);
    if (!(await io("stat", key, () => driver.exists(key)))) throw notFound(id);
  }

  const backend: StoreBackend = {
    name: driver.name,
    capabilities,
    driver,

    async walk(fn) {
      const present = new Set(await list(contentRoot));
      for (const algorithm of [...algorithms].sort()) {
        if (!present.has(algorithm)) continue;
        const names = await list(`${contentRoot}/${algorithm}`);
        names.sort();
        for (const name of names) {
          let id: Digest;
          try {
            id = DigestClass.fromHex(algorithm, name);
          } catch {
            continue; // temp files and strays, as dockerd skips them
          }
          // Awaited only when fn returns a promise: a walk of 10,000 names with a synchronous
          // callback would otherwise pay a microtask per name.
          const pending = fn(id);
          if (pending) await pending;
        }
      }
    },

    async get(id) {
      const key = contentKey(id);
      const data = await io("read", key, () => driver.read(key));
      if (data === undefined) throw notFound(id);
      const actual = digestFromBytes(data, id.algorithm);
      if (!actual.equals(id)) throw verificationFailed(id, key, actual);
      return data;
    },

    async set(data, algorithm: Algorithm = Canonical) {
      open();
      if (data.byteLength === 0) {
        throw new BackendError(BackendErrorCode.EmptyContent, "invalid empty content: refusing to store zero bytes");
      }
      const id = digestFromBytes(data, algorithm);
      const key = contentKey(id);
      // Content-addressed: what is there already is these very bytes, unless it was corrupted.
      // dockerd's Set rewrites every time, which heals a corrupted file; we read first (set()
      // serves small configs) and rewrite only when what is there does not verify, so a store
      // that refuses overwrites (conditional create) is not asked to.
      const existing = await io("read", key, () => driver.read(key));
      if (existing === undefined || !digestFromBytes(existing, algorithm).equals(id)) {
        await io("write", key, () => driver.write(key, data));
      }
      return id;
    },

    async has(id) {
      const key = contentKey(id);
      return io("stat", key, () => driver.exists(key));
    },

    async delete(id) {
      // dockerd's order: metadata first, so a crash in between leaves content without stale metadata.
      const prefix = metadataPrefix(id);
      await io("remove", prefix, () => driver.removePrefix(prefix));
      const key = contentKey(id);
      await io("remove", key, () => driver.remove(key));
    },

    async setMetadata(id, key, data) {
      assertMetadataKey(key);
      await assertExists(id);
      const k = metadataKey(id, key);
      await io("write", k, () => driver.write(k, data));
    },

    async getMetadata(id, key) {
      assertMetadataKey(key);
      await assertExists(id);
      const k = metadataKey(id, key);
      const data = await io("read", k, () => driver.read(k));
      if (data === undefined) throw notFound(id, key);
      return data;
    },

    async deleteMetadata(id, key) {
      assertMetadataKey(key);
      const k = metadataKey(id, key);
      await io("remove", k, () => driver.remove(k));
    },

    async getStream(id) {
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
          if (isStoreError(e)) throw e;
          throw new BackendError(BackendErrorCode.Io, `${driver.name}: read ${key}: ${(e as Error)?.message ?? e}`, {
            cause: e,
            details: { key, operation: "read" },
          });
        }
      })();
    },

    async setStream(source: ByteSource, options: SetStreamOptions = {}) {
      open();
      const { expected, size } = options;
      const algorithm = expected?.algorithm ?? options.algorithm ?? Canonical;
      if (!isAlgorithm(algorithm)) throw new TypeError(`unknown algorithm ${String(algorithm)}`);
      if (size === 0 || (expected && expected.equals(digestFromBytes(new Uint8Array(0), expected.algorithm)))) {
        throw new BackendError(BackendErrorCode.EmptyContent, "invalid empty content: refusing to store zero bytes");
      }
      const hashed = expected ? undefined : hashingStream(source, algorithm);
      const stream = expected ? verifyStream(source, expected, { size, what: `content ${expected}` }) : hashed!.stream;
      // When the digest is known in advance, short-cut content we hold already.
      if (expected && (await io("stat", contentKey(expected), () => driver.exists(contentKey(expected))))) {
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
          if (result!.size === 0) {
            throw new BackendError(BackendErrorCode.EmptyContent, "invalid empty content: refusing to store zero bytes");
          }
          if (size !== undefined && result!.size !== size) {
            throw new BackendError(BackendErrorCode.ContentMismatch, `content ${id}: ${result!.size} bytes, expected ${size}`, {
              details: { digest: id.toString(), size, actualSize: result!.size },
            });
          }
        }
        const key = contentKey(id);
        if (await io("stat", key, () => driver.exists(key))) {
          await staged.abort();
        } else {
          await io("commit", key, () => staged.commit(key));
        }
        return id;
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
