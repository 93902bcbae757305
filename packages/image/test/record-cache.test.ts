import { type StoreBackend, contentKey } from "@store/backend";
import { describe, expect, it } from "vitest";
import { chainId, digestFromString } from "@store/digest";
import { type MetadataStore, createFsMetadataStore, createMetadataStore } from "@store/metadata";
import { readFile } from "node:fs/promises";
import { createReferenceStore } from "@store/reference";
import { createImageService, createImageStore, recordCacheKey } from "../src/index";
import { readRecordCache } from "../src/record-cache";
import { config, diff, utf8 } from "./support/configs";
import { FakeLayerStore } from "../src/conformance/index";
import { MapDriver } from "@store/test-support";

const mapDriver = (objects = new Map<string, Uint8Array[]>()) => new MapDriver({ objects, capabilities: { persistent: true } });
const createMapBackend = (objects?: Map<string, Uint8Array[]>) => createBackend(mapDriver(objects));
import { createBackend } from "@store/backend";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A metadata store whose records the test can see and plant in a Map (versions: the arrays' identity). */
function memoryFiles(): MetadataStore & { data: Map<string, Uint8Array> } {
  const data = new Map<string, Uint8Array>();
  const versions = new WeakMap<Uint8Array, string>();
  let writes = 0;
  const versionOf = (value: Uint8Array) => {
    if (!versions.has(value)) versions.set(value, `v${++writes}`);
    return versions.get(value)!;
  };
  const put = (key: string, value: Uint8Array) => {
    const copy = new Uint8Array(value);
    data.set(key, copy);
    return versionOf(copy);
  };
  const store = createMetadataStore({
    name: "test",
    capabilities: { conditional: true, persistent: true, shared: false },
    async read(key) {
      const value = data.get(key);
      return value && { data: value, version: versionOf(value) };
    },
    async create(key, value) {
      return data.has(key) ? undefined : put(key, value);
    },
    async replace(key, value, version) {
      const current = data.get(key);
      return current && versionOf(current) === version ? put(key, value) : undefined;
    },
    async write(key, value) {
      return put(key, value);
    },
    async remove(key, version) {
      const current = data.get(key);
      if (version !== undefined && (!current || versionOf(current) !== version)) return false;
      data.delete(key);
      return true;
    },
    async list(prefix) {
      return [...data.keys()].filter((k) => prefix === "" || k.startsWith(`${prefix}/`));
    },
  });
  return Object.assign(store, { data });
}

/** The backend with its config reads counted. */
function counted(backend: StoreBackend): StoreBackend & { gets: number } {
  const out = { ...backend, gets: 0 };
  out.get = async (id) => {
    out.gets++;
    return backend.get(id);
  };
  return out;
}

async function seed() {
  const data = new Map<string, Uint8Array[]>();
  const layers = new FakeLayerStore();
  layers.add([diff("a"), diff("b")]);
  const store = await createImageStore({ backend: createMapBackend(data), layers });
  const ids = [];
  for (let i = 0; i < 5; i++) {
    ids.push(
      await store.create(
        config({
          diffIds: i % 2 ? [diff("a"), diff("b")] : [diff("a")],
          labels: i % 2 ? { n: String(i) } : undefined,
          created: `2024-05-0${i + 1}T10:00:00.5+02:00`,
          comment: `${i}`,
        }),
      ),
    );
  }
  await store.setParent(ids[1]!, ids[0]!);
  await store.close();
  return { data, ids };
}

const snapshot = (store: Awaited<ReturnType<typeof createImageStore>>) =>
  store.records().map((r) => ({ ...r, layer: r.layer?.chainId.toString(), children: store.children(r.id).map(String) }));

describe("record cache", () => {
  it("a second open reads no config and restores the same records, parents and listing", async () => {
    const { data } = await seed();
    const files = memoryFiles();
    const first = counted(createMapBackend(data));
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    const a = await createImageStore({ backend: first, layers, recordCache: files });
    expect(first.gets).toBe(5);
    expect(files.data.has(recordCacheKey)).toBe(true);
    const second = counted(createMapBackend(data));
    const b = await createImageStore({ backend: second, layers, recordCache: files });
    expect(second.gets).toBe(0);
    expect(snapshot(b)).toEqual(snapshot(a));
    const root = await mkdtemp(join(tmpdir(), "record-cache-"));
    try {
      const references = await createReferenceStore({ path: join(root, "repositories.json") });
      expect(createImageService({ images: b, references }).list({ all: true })).toEqual(createImageService({ images: a, references }).list({ all: true }));
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it("reads and caches images added since, drops images gone, and is rewritten only then", async () => {
    const { data, ids } = await seed();
    const files = memoryFiles();
    const layers = new FakeLayerStore();
    layers.add([diff("a")]);
    await createImageStore({ backend: createMapBackend(data), layers, recordCache: files });
    const written = files.data.get(recordCacheKey);

    const writer = await createImageStore({ backend: createMapBackend(data), layers });
    const added = await writer.create(config({ diffIds: [diff("a")], comment: "added" }));
    await writer.delete(ids[0]!);
    const backend = counted(createMapBackend(data));
    const again = await createImageStore({ backend, layers, recordCache: files });
    expect(backend.gets).toBe(1); // only the new one
    expect(again.has(added)).toBe(true);
    expect(again.has(ids[0]!)).toBe(false);
    expect(files.data.get(recordCacheKey)).not.toEqual(written);

    const steady = files.data.get(recordCacheKey);
    const third = counted(createMapBackend(data));
    await createImageStore({ backend: third, layers, recordCache: files });
    expect(third.gets).toBe(0);
    expect(files.data.get(recordCacheKey)).toBe(steady); // not rewritten
  });

  it("reports a cache that does not verify or decode, restores from the configs and rewrites it", async () => {
    const { data } = await seed();
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    const withSum = (body: string) => `${digestFromString(body)}\n${body}`;
    const cases: [string, RegExp][] = [
      ["garbage", /no checksum line/],
      ["", /no checksum line/],
      [`sha256:${"0".repeat(64)}\n{"v":3}`, /hashes to sha256:/],
      [withSum("{not json"), /not JSON/],
      [withSum('{"v":3,"chains":[],"labels":[],"ids":"","fields":[1,2,3],"stamps":""}'), /fields is not an array of 6 numbers/],
      [withSum('{"v":3,"chains":["nope"],"labels":[],"ids":"sha256:x","fields":[1,2,3,0,1,-1],"stamps":""}'), /chain ID "nope" is not a digest/],
      [withSum('{"v":3,"chains":[],"labels":[],"ids":"sha256:x","fields":[1,2,3,0,1,-1],"stamps":""}'), /index out of range/],
      [withSum('{"v":3,"chains":[],"labels":[{"a":1}],"ids":"","fields":[],"stamps":""}'), /labels is not an array of string maps/],
      [withSum('{"v":3,"chains":[],"labels":[],"ids":"sha256:x,sha256:y","fields":[1,2,3,-1,1,-1],"stamps":""}'), /ids does not list 1 images/],
      [withSum('{"v":3,"chains":[],"labels":[],"ids":"sha256:x","fields":[1,2,3,-1,1,-1],"stamps":"a,b"}'), /stamps does not list 1 images/],
      [withSum('{"v":3,"chains":[],"labels":[],"ids":"","fields":[]}'), /stamps is not a string/],
    ];
    for (const [bad, why] of cases) {
      const files = memoryFiles();
      files.data.set(recordCacheKey, utf8(bad));
      const backend = counted(createMapBackend(data));
      const store = await createImageStore({ backend, layers, recordCache: files });
      expect(backend.gets, JSON.stringify(bad)).toBe(5);
      expect(store.len()).toBe(5);
      expect(store.problems, JSON.stringify(bad)).toEqual([{ kind: "invalid-record-cache", key: recordCacheKey, message: expect.stringMatching(why) }]);
      expect(store.problems[0]!.message).toContain(recordCacheKey);
      // rewritten: the next open uses it and reports nothing
      const again = counted(createMapBackend(data));
      expect((await createImageStore({ backend: again, layers, recordCache: files })).problems).toEqual([]);
      expect(again.gets).toBe(0);
    }
  });

  it("rebuilds a cache of another format version without reporting it", async () => {
    const { data } = await seed();
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    const files = memoryFiles();
    const v1 = '{"v":1,"records":{}}';
    files.data.set(recordCacheKey, utf8(`${digestFromString(v1)}\n${v1}`));
    const backend = counted(createMapBackend(data));
    const store = await createImageStore({ backend, layers, recordCache: files });
    expect(store.problems).toEqual([]);
    expect(backend.gets).toBe(5);
    expect(new TextDecoder().decode(files.data.get(recordCacheKey)!)).toContain('"v":3');
  });

  it("serves a walk in any order (the cache's own order is only the fast path)", async () => {
    const { data, ids } = await seed();
    const files = memoryFiles();
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    const first = await createImageStore({ backend: createMapBackend(data), layers, recordCache: files });
    const read = await readRecordCache(files);
    const records = read.records!;
    const shuffled = [...ids].sort((a, b) => (a.encoded[3]! < b.encoded[3]! ? -1 : 1)).reverse();
    for (const id of shuffled) {
      const r = first.record(id)!;
      expect(records.take(id)).toEqual({ created: r.created, chainId: r.chainId, hasRunConfig: r.hasRunConfig, labels: r.labels });
    }
    expect(records.take(digestFromString("not cached"))).toBeUndefined();
    expect(records.hits).toBe(5);
    expect(records.size).toBe(5);
  });

  it("shares one layer handle among the images on a layer, at restore and create alike", async () => {
    const { data, ids } = await seed();
    const layers = new FakeLayerStore();
    const top = layers.add([diff("a"), diff("b")]);
    const base = chainId([diff("a")])!;
    const store = await createImageStore({ backend: createMapBackend(data), layers, recordCache: memoryFiles() });
    expect(layers.gets).toBe(2);
    expect([layers.refs(base), layers.refs(top)]).toEqual([1, 1]);
    // the records on one layer share its handle and size
    expect(store.record(ids[0]!)!.layer).toBe(store.record(ids[2]!)!.layer);
    expect(store.record(ids[1]!)!.size).toBe(200);
    const more = await Promise.all([1, 2, 3].map((n) => store.create(config({ diffIds: [diff("a"), diff("b")], comment: `more ${n}` }))));
    expect(layers.gets).toBe(2);
    for (const id of [ids[1]!, ids[3]!, ...more.slice(1)]) {
      expect(await store.delete(id)).toEqual([]);
      expect(layers.refs(top)).toBe(1);
    }
    expect(layers.releases).toBe(0);
    await store.delete(more[0]!);
    expect(layers.refs(top)).toBe(0);
    expect(layers.releases).toBe(1);
  });

  it("verification is lazy for cached images: a config tampered after caching fails when read, not at open", async () => {
    const { data, ids } = await seed();
    const files = memoryFiles();
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    await createImageStore({ backend: createMapBackend(data), layers, recordCache: files });
    data.set(contentKey(ids[2]!), [utf8('{"rootfs":{"type":"layers","diff_ids":[]},"comment":"tampered"}')]);
    const cached = await createImageStore({ backend: createBackend(mapDriver(data)), layers, recordCache: files });
    expect(cached.has(ids[2]!)).toBe(true);
    await expect(cached.get(ids[2]!)).rejects.toMatchObject({ code: "ERR_BACKEND_VERIFICATION_FAILED" });
    // without the cache, open reports it as moby skips it
    const strict = await createImageStore({ backend: createMapBackend(data), layers });
    expect(strict.has(ids[2]!)).toBe(false);
    expect(strict.problems.map((p) => p.kind)).toEqual(["invalid-config"]);
  });
  it("with a config stamp, re-reads and verifies exactly the configs whose stamp changed: a tampered one is not listed", async () => {
    const { data, ids } = await seed();
    const files = memoryFiles();
    const layers = new FakeLayerStore();
    layers.add([diff("a"), diff("b")]);
    // What a stat would say of each stored config: here, which write of it this is.
    const writes = new Map<string, number>();
    const configStamp = (id: { toString(): string }) => `w${writes.get(id.toString()) ?? 0}`;
    await createImageStore({ backend: createMapBackend(data), layers, recordCache: files, configStamp });
    const unchanged = counted(createMapBackend(data));
    const again = await createImageStore({ backend: unchanged, layers, recordCache: files, configStamp });
    expect([unchanged.gets, again.problems]).toEqual([0, []]);
    data.set(contentKey(ids[2]!), [utf8('{"rootfs":{"type":"layers","diff_ids":[]},"comment":"tampered"}')]);
    writes.set(ids[2]!.toString(), 1);
    const backend = counted(createMapBackend(data));
    const store = await createImageStore({ backend, layers, recordCache: files, configStamp });
    expect(backend.gets).toBe(1);
    expect(store.has(ids[2]!)).toBe(false);
    expect(store.problems.map((p) => [p.kind, "digest" in p && p.digest.toString()])).toEqual([["invalid-config", ids[2]!.toString()]]);
    expect(store.records()).toHaveLength(4);
    // A stamp that cannot be taken trusts nothing: every config is read.
    const unstamped = counted(createMapBackend(data));
    await createImageStore({ backend: unstamped, layers, recordCache: files, configStamp: () => undefined });
    expect(unstamped.gets).toBe(5);
  });

  it("lives as one record of a shared fs metadata store; a cache another process rewrote first is kept, not fought over", async () => {
    const { data } = await seed();
    const root = await mkdtemp(join(tmpdir(), "record-cache-"));
    try {
      const key = "store-cache/image-records.json";
      const layers = new FakeLayerStore();
      layers.add([diff("a"), diff("b")]);
      const store = createFsMetadataStore({ root });
      await createImageStore({ backend: createMapBackend(data), layers, recordCache: store, recordCacheKey: key });
      const file = await readFile(join(root, "store-cache", "image-records.json"));
      expect((await readRecordCache(store, key)).records?.size).toBe(5);

      // Damaged, then replaced by someone else between this open's read and its write.
      await store.putIfVersion(key, utf8("junk"), (await store.get(key))!.version);
      const racing: MetadataStore = {
        ...store,
        async putIfVersion(k, bytes, version) {
          await store.putIfVersion(k, file, (await store.get(k))!.version); // the other process
          return store.putIfVersion(k, bytes, version);
        },
      };
      const opened = await createImageStore({ backend: createMapBackend(data), layers, recordCache: racing, recordCacheKey: key });
      expect(opened.len()).toBe(5);
      expect(opened.problems.map((p) => p.kind)).toEqual(["invalid-record-cache"]);
      expect(Buffer.from(await readFile(join(root, "store-cache", "image-records.json"))).equals(file)).toBe(true);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
