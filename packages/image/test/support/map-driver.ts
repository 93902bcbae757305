import { type BackendDriver, type StoreBackend, createBackend } from "@store/backend";

/**
 * The smallest BackendDriver: a Map of keys to bytes. Stands in for the memory and fs backends
 * until they land; `data` is exposed so tests can corrupt or inspect what was written.
 */
export function createMapDriver(data = new Map<string, Uint8Array>()): BackendDriver & { data: Map<string, Uint8Array> } {
  const copy = (b: Uint8Array) => new Uint8Array(b);
  return {
    name: "map",
    capabilities: { persistent: true },
    data,
    async read(key) {
      const v = data.get(key);
      return v && copy(v);
    },
    async readStream(key) {
      const v = data.get(key);
      return v && (async function* () { yield copy(v); })();
    },
    async stat(key) {
      const v = data.get(key);
      return v && { size: v.byteLength };
    },
    async write(key, value, options) {
      if (options?.ifAbsent && data.has(key)) return false;
      data.set(key, copy(value));
      return true;
    },
    async stage(source) {
      const chunks: Uint8Array[] = [];
      for await (const c of source) chunks.push(c);
      const all = Buffer.concat(chunks);
      return {
        async commit(key, options) {
          if (options?.ifAbsent && data.has(key)) return false;
          data.set(key, new Uint8Array(all));
          return true;
        },
        async abort() {},
      };
    },
    async remove(key) {
      data.delete(key);
    },
    async removePrefix(prefix) {
      for (const k of [...data.keys()]) if (k.startsWith(`${prefix}/`)) data.delete(k);
    },
    async *list(prefix) {
      const names = new Set<string>();
      for (const k of data.keys()) {
        if (k.startsWith(`${prefix}/`)) names.add(k.slice(prefix.length + 1).split("/")[0]!);
      }
      yield* names;
    },
  };
}

/** A StoreBackend over a fresh (or given) Map. */
export function createMapBackend(data?: Map<string, Uint8Array>): StoreBackend {
  return createBackend(createMapDriver(data));
}
