import { isStoreError } from "@store/errors";
import { MetadataError, MetadataErrorCode } from "./errors";
import { assertListPrefix, assertMetadataKey } from "./keys";
import type { MetadataDriver } from "./metadata-driver";
import type { DeleteOptions, MetadataStore } from "./metadata-store";

/** Options of {@link createMetadataStore}. */
export interface MetadataStoreOptions {
  /**
   * On a medium that does not honour conditional writes (`capabilities.conditional` false), do
   * them anyway as read-check-write. That is racy: a write by someone else between the check and
   * the write is lost. Without this option such writes are refused with ERR_METADATA_UNSUPPORTED.
   * It changes nothing on a medium that honours conditions.
   */
  allowUnconditional?: boolean;
}

/**
 * Builds a MetadataStore from a driver's primitives. Everything the contract promises beyond
 * storing bytes lives here — key and argument checks, conflicts reported as
 * ERR_METADATA_CONFLICT naming the key, never faking a compare-and-swap the medium cannot do,
 * driver failures as ERR_METADATA_IO, closing — so every driver behaves the same.
 */
export function createMetadataStore(driver: MetadataDriver, options: MetadataStoreOptions = {}): MetadataStore {
  const capabilities = { ...driver.capabilities };
  let closed = false;

  const open = (): void => {
    if (closed) throw new MetadataError(MetadataErrorCode.Closed, `${driver.name} metadata store is closed`);
  };

  // Driver failures become ERR_METADATA_IO naming the key; our own errors pass through.
  async function io<T>(what: string, key: string, op: () => Promise<T>): Promise<T> {
    open();
    try {
      return await op();
    } catch (e) {
      if (isStoreError(e)) throw e;
      throw new MetadataError(MetadataErrorCode.Io, `${driver.name}: ${what} ${JSON.stringify(key)}: ${(e as Error)?.message ?? e}`, {
        cause: e,
        details: { key, operation: what },
      });
    }
  }

  const conflict = (key: string, message: string, details: Record<string, unknown> = {}) =>
    new MetadataError(MetadataErrorCode.Conflict, `metadata ${JSON.stringify(key)}: ${message}`, { details: { key, ...details } });

  // The refusal to pretend: on a medium that cannot compare-and-swap, a conditional write either
  // is refused or, when the caller opted in, is checked and then written (racy, and said so).
  function assertConditional(key: string, operation: string): void {
    if (capabilities.conditional || options.allowUnconditional) return;
    throw new MetadataError(
      MetadataErrorCode.Unsupported,
      `${driver.name}: ${operation} ${JSON.stringify(key)}: this medium does not honour conditional writes ` +
        "(open the store with allowUnconditional to check-then-write without that guarantee)",
      { details: { key, operation } },
    );
  }

  function assertData(key: string, data: unknown): asserts data is Uint8Array {
    if (!(data instanceof Uint8Array)) {
      throw new MetadataError(MetadataErrorCode.InvalidArgument, `metadata ${JSON.stringify(key)}: data must be a Uint8Array`, { details: { key } });
    }
    if (data.byteLength === 0) {
      throw new MetadataError(MetadataErrorCode.EmptyData, `metadata ${JSON.stringify(key)}: refusing to store an empty record`, { details: { key } });
    }
  }

  function assertVersion(key: string, version: unknown): asserts version is string {
    if (typeof version !== "string" || version === "") {
      throw new MetadataError(
        MetadataErrorCode.InvalidArgument,
        `metadata ${JSON.stringify(key)}: a version is a non-empty string, got ${JSON.stringify(version)}`,
        {
          details: { key },
        },
      );
    }
  }

  const store: MetadataStore = {
    name: driver.name,
    capabilities,

    async get(key) {
      assertMetadataKey(key);
      return io("read", key, () => driver.read(key));
    },

    async putIfAbsent(key, data) {
      assertMetadataKey(key);
      assertData(key, data);
      assertConditional(key, "putIfAbsent");
      const version = await io("create", key, async () => {
        if (capabilities.conditional) return driver.create(key, data);
        return (await driver.read(key)) === undefined ? driver.write(key, data) : undefined;
      });
      if (version === undefined) throw conflict(key, "exists already");
      return version;
    },

    async putIfVersion(key, data, version) {
      assertMetadataKey(key);
      assertData(key, data);
      assertVersion(key, version);
      assertConditional(key, "putIfVersion");
      const next = await io("replace", key, async () => {
        if (capabilities.conditional) return driver.replace(key, data, version);
        return (await driver.read(key))?.version === version ? driver.write(key, data) : undefined;
      });
      if (next === undefined) throw conflict(key, `is no longer at version ${version} (changed or deleted)`, { version });
      return next;
    },

    async delete(key, deleteOptions: DeleteOptions = {}) {
      assertMetadataKey(key);
      const { ifVersion } = deleteOptions;
      if (ifVersion === undefined) {
        await io("remove", key, () => driver.remove(key));
        return;
      }
      assertVersion(key, ifVersion);
      assertConditional(key, "delete");
      const removed = await io("remove", key, async () => {
        if (capabilities.conditional) return driver.remove(key, ifVersion);
        return (await driver.read(key))?.version === ifVersion ? driver.remove(key) : false;
      });
      if (!removed) throw conflict(key, `is no longer at version ${ifVersion} (changed or deleted)`, { version: ifVersion });
    },

    async list(prefix) {
      assertListPrefix(prefix);
      const keys = await io("list", prefix, () => driver.list(prefix));
      return keys.sort();
    },

    async close() {
      if (closed) return;
      closed = true;
      await driver.close?.();
    },
  };
  return store;
}
