import { contentKey } from "@store/backend";
import { chainId, parseDigest } from "@store/digest";
import { isStoreError } from "@store/errors";
import { describe, expect, it } from "vitest";
import { ImageErrorCode, createImageStore, imageIdOf, parseImageConfig } from "../src/index";
import { config, diff, utf8 } from "./support/configs";
import { FakeLayerStore } from "../src/conformance/index";
import { MapDriver } from "@store/test-support";

import { createBackend } from "@store/backend";

const mapDriver = (objects = new Map<string, Uint8Array[]>()) => new MapDriver({ objects, capabilities: { persistent: true } });
const createMapBackend = (objects?: Map<string, Uint8Array[]>) => createBackend(mapDriver(objects));

const mobyVector = utf8(`{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]}}`);
const mobyId = "sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993";

async function open(data = new Map<string, Uint8Array[]>(), layers = new FakeLayerStore()) {
  const backend = createBackend(mapDriver(data));
  return { store: await createImageStore({ backend, layers }), layers, data, backend };
}

describe("image config", () => {
  it("has moby's test-vector ID, and reads its bare-hex diff ID as sha256", () => {
    expect(imageIdOf(mobyVector).toString()).toBe(mobyId);
    const parsed = parseImageConfig(mobyVector);
    expect(parsed.rootFS.diffIds.map(String)).toEqual(["sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]);
    expect(parsed.config.comment).toBe("abc");
    expect(parsed.created.seconds).toBe(-62135596800); // Go's zero time
  });

  it("refuses configs without rootfs, with bad JSON, bad types or bad diff IDs", () => {
    const bad = [
      [`{"comment":"x"}`, /no RootFS key/],
      [`{"rootfs":null}`, /no RootFS key/],
      [`not json`, /not JSON/],
      [`[1]`, /not a JSON object/],
      [`\ufeff{"rootfs":{"type":"layers"}}`, /not JSON/],
      [`{"rootfs":{"type":"layers","diff_ids":["nope"]}}`, /diff_ids\[0\] "nope"/],
      [`{"rootfs":{"type":"layers"},"created":"yesterday"}`, /created "yesterday" is not an RFC 3339/],
      [`{"rootfs":{"type":"layers"},"history":[{"empty_layer":"yes"}]}`, /empty_layer/],
      [`{"rootfs":{"type":"layers"},"config":{"Labels":{"a":1}}}`, /Labels/],
    ] as const;
    for (const [text, message] of bad) {
      let err: unknown;
      try {
        parseImageConfig(utf8(text), "cfg.json");
      } catch (e) {
        err = e;
      }
      expect(isStoreError(err, ImageErrorCode.InvalidConfig), text).toBe(true);
      expect((err as Error).message).toMatch(message);
      expect((err as Error).message).toMatch(/^cfg\.json: /);
    }
  });

  it("matches field names case-insensitively, as Go does", () => {
    const parsed = parseImageConfig(utf8(`{"RootFS":{"Type":"layers","Diff_IDs":["${diff("a")}"]},"Config":{"labels":{"x":"y"}}}`));
    expect(parsed.rootFS.diffIds).toHaveLength(1);
    expect(parsed.runConfig).toBeDefined();
  });
});

describe("image store", () => {
  it("creates moby's vector with its layer retained, once", async () => {
    const layers = new FakeLayerStore();
    const top = layers.add([parseDigest("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")]);
    const { store, data } = await open(new Map(), layers);
    const id = await store.create(mobyVector);
    expect(id.toString()).toBe(mobyId);
    expect(await store.create(mobyVector)).toEqual(id);
    expect(layers.refs(top)).toBe(1);
    // verbatim bytes, never re-serialised
    expect(Buffer.concat(data.get(contentKey(id))!).toString()).toBe(Buffer.from(mobyVector).toString());
    expect((await store.get(id)).config.comment).toBe("abc");
    expect(store.len()).toBe(1);
  });

  it("a closed store refuses with ERR_IMAGE_CLOSED (not not-found), and loses nothing", async () => {
    const layers = new FakeLayerStore();
    layers.add([parseDigest("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae")]);
    const { store, data } = await open(new Map(), layers);
    const id = await store.create(mobyVector);
    await store.close();
    await expect(store.get(id)).rejects.toMatchObject({ code: ImageErrorCode.Closed, kind: "canceled" });
    await expect(store.create(mobyVector)).rejects.toMatchObject({ code: ImageErrorCode.Closed });
    const reopened = await createImageStore({ backend: createMapBackend(data), layers });
    expect((await reopened.get(id)).config.comment).toBe("abc");
  });

  it("refuses a missing layer and too much history, leaving nothing behind", async () => {
    const { store, data } = await open();
    await expect(store.create(config({ diffIds: [diff("a")] }))).rejects.toMatchObject({ code: ImageErrorCode.LayerNotFound });
    const history = [{ created_by: "a" }, { created_by: "b" }];
    await expect(store.create(config({ history }))).rejects.toThrow(/too many non-empty layers in History section/);
    expect(data.size).toBe(0);
    expect(store.len()).toBe(0);
    // empty_layer entries do not count
    await store.create(config({ history: [{ created_by: "ENV x", empty_layer: true }] }));
  });

  it("searches by short ID, says No such image, and reports ambiguity", async () => {
    const { store } = await open();
    const ids = [];
    for (let i = 0; i < 40; i++) ids.push(await store.create(config({ comment: String(i) })));
    const id = ids[0]!;
    expect(store.search(id.encoded.slice(0, 12))).toEqual(id);
    expect(store.search(`sha256:${id.encoded.slice(0, 10)}`)).toEqual(id);
    expect(() => store.search("zzz")).toThrow("No such image: zzz");
    expect(() => store.search(id.encoded.slice(1, 8))).toThrow(/No such image/);
    // 40 random IDs share one-character prefixes among 16 choices
    const first = ids.map((d) => d.encoded[0]!);
    const dup = first.find((c, i) => first.indexOf(c) !== i)!;
    expect(() => store.search(dup)).toThrow(expect.objectContaining({ code: ImageErrorCode.Ambiguous }));
    expect(store.shortId(id)).toHaveLength(12);
  });

  it("links parents and children, re-parents, and unlinks on delete", async () => {
    const { store, backend } = await open();
    const a = await store.create(config({ comment: "a" }));
    const b = await store.create(config({ comment: "b" }));
    const c = await store.create(config({ comment: "c" }));
    await store.setParent(c, a);
    expect(store.children(a)).toEqual([c]);
    await store.setParent(c, b);
    expect(store.children(a)).toEqual([]);
    expect(store.children(b)).toEqual([c]);
    expect(store.getParent(c)).toEqual(b);
    expect(Buffer.from(await backend.getMetadata(c, "parent")).toString()).toBe(b.toString());
    await expect(store.setParent(b, c)).rejects.toMatchObject({ code: ImageErrorCode.Conflict });
    await expect(store.setParent(c, parseDigest(`sha256:${"0".repeat(64)}`))).rejects.toThrow(/No such image/);
    expect((await store.heads()).size).toBe(2);
    await store.delete(b);
    expect(store.getParent(c)).toBeUndefined();
    await expect(backend.getMetadata(c, "parent")).rejects.toMatchObject({ code: "ERR_BACKEND_NOT_FOUND" });
    await expect(store.get(b)).rejects.toThrow(`No such image: ${b}`);
    expect(() => store.search(b.encoded.slice(0, 15))).toThrow(/No such image/);
  });

  it("returns the layers a delete removed, and keeps shared ones", async () => {
    const layers = new FakeLayerStore();
    const base = [diff("base")];
    layers.add([...base, diff("top")], [10, 20]);
    const { store } = await open(new Map(), layers);
    const one = await store.create(config({ diffIds: base }));
    const two = await store.create(config({ diffIds: [...base, diff("top")] }));
    expect(store.record(two)!.size).toBe(30);
    const removed = await store.delete(two);
    expect(removed.map((l) => l.chainId)).toEqual([chainId([...base, diff("top")])]);
    expect(await store.delete(one)).toEqual([expect.objectContaining({ chainId: base[0], diffSize: 10 })]);
    expect(layers.entries.size).toBe(0);
  });

  it("writes lastUpdated as RFC3339Nano and builtLocally as one byte", async () => {
    const { store, backend } = await open();
    const id = await store.create(config());
    expect(await store.getLastUpdated(id)).toBeUndefined();
    await store.setLastUpdated(id, { seconds: 1714557600, nanos: 120000000, offset: 3600 });
    expect(Buffer.from(await backend.getMetadata(id, "lastUpdated")).toString()).toBe("2024-05-01T11:00:00.12+01:00");
    expect(await store.getLastUpdated(id)).toEqual({ seconds: 1714557600, nanos: 120000000, offset: 3600 });
    await store.setLastUpdated(id);
    expect(Buffer.from(await backend.getMetadata(id, "lastUpdated")).toString()).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/);
    expect(await store.isBuiltLocally(id)).toBe(false);
    await store.setBuiltLocally(id);
    expect([...(await backend.getMetadata(id, "builtLocally"))]).toEqual([1]);
    expect(await store.isBuiltLocally(id)).toBe(true);
  });

  it("reports a corrupt config, a tampered one, a missing layer and a bad parent, and restores the rest", async () => {
    const layers = new FakeLayerStore();
    const data = new Map<string, Uint8Array[]>();
    const backend = createMapBackend(data);
    const good = await backend.set(config({ comment: "good" }));
    const junk = await backend.set(utf8("invalid"));
    const noLayer = await backend.set(config({ diffIds: [diff("gone")] }));
    const tampered = await backend.set(config({ comment: "tampered" }));
    data.set(contentKey(tampered), [utf8(`{"rootfs":{"type":"layers"},"comment":"evil"}`)]);
    const orphan = await backend.set(config({ comment: "orphan" }));
    await backend.setMetadata(orphan, "parent", utf8("garbage"));
    const store = await createImageStore({ backend, layers });
    expect(store.ids().map(String).sort()).toEqual([good, orphan].map(String).sort());
    const byDigest = Object.fromEntries(store.problems.map((p) => ["digest" in p ? p.digest.toString() : p.kind, p]));
    expect(byDigest[junk.toString()]).toMatchObject({ kind: "invalid-config", key: contentKey(junk) });
    expect(byDigest[tampered.toString()]).toMatchObject({ kind: "invalid-config" });
    expect(byDigest[tampered.toString()]!.message).toMatch(/failed to verify/);
    expect(byDigest[noLayer.toString()]).toMatchObject({ kind: "layer-missing" });
    expect(byDigest[noLayer.toString()]!.message).toContain(chainId([diff("gone")])!.toString());
    expect(byDigest[orphan.toString()]).toMatchObject({ kind: "invalid-parent", key: `metadata/sha256/${orphan.encoded}/parent` });
    expect(store.problems).toHaveLength(4);
    // nothing was deleted
    expect(data.has(contentKey(junk))).toBe(true);
  });

  it("serialises concurrent creates of the same config to one layer reference", async () => {
    const layers = new FakeLayerStore();
    const top = layers.add([diff("x")]);
    const { store } = await open(new Map(), layers);
    const bytes = config({ diffIds: [diff("x")] });
    const ids = await Promise.all(Array.from({ length: 8 }, () => store.create(bytes)));
    expect(new Set(ids.map(String)).size).toBe(1);
    expect(layers.refs(top)).toBe(1);
  });
});

describe("digests at the edge", () => {
  it("takes an image ID as a Digest or as its text, and refuses text that is not a digest, naming it", async () => {
    const { store, layers } = await open();
    layers.add([diff("a")]);
    const id = await store.create(config({ diffIds: [diff("a")] }));
    const text = id.toString();
    expect(store.has(text)).toBe(true);
    expect(store.record(text)?.id.equals(id)).toBe(true);
    expect((await store.get(text)).id.equals(id)).toBe(true);
    await store.setLastUpdated(text);
    expect(await store.getLastUpdated(text)).toBeDefined();
    expect(() => store.has("not-a-digest")).toThrow(
      expect.objectContaining({ code: "ERR_DIGEST_INVALID_FORMAT", message: expect.stringContaining("not-a-digest") }),
    );
    await store.delete(text);
    expect(store.has(id)).toBe(false);
  });
});
