import { execFileSync } from "node:child_process";
import { existsSync } from "node:fs";
import { readFile, readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { chainId, digestFromBytes } from "@store/digest";
import { hasRoot } from "@store/test-peers";
import { LayerErrorCode, MAX_LAYER_DEPTH, createLayerStore, createMemoryLayerMetadataStore } from "../src/index";
import { collect, tarBytes, tempStore } from "./helpers";

const EMPTY_TAR_DIFF_ID = "sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef";

let t: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(async () => {
  await t.cleanup();
});

const base = () =>
  tarBytes([
    { name: "etc/", type: "directory" },
    { name: "etc/hostname", content: "base\n" },
    { name: "bin/", type: "directory" },
    { name: "bin/tool", content: "x".repeat(5000), mode: 0o755 },
  ]);

describe("layer store on overlay2", () => {
  it("registers a layer in one pass and records dockerd's layerdb", async () => {
    const tar = await base();
    const { layer } = await t.store.register([tar]);
    expect(layer.diffId.toString()).toBe(digestFromBytes(tar).toString());
    expect(layer.chainId.toString()).toBe(layer.diffId.toString());
    expect(layer.parent).toBeUndefined();
    expect(layer.diffSize).toBe(5005);
    const dir = join(t.root, "image", "overlay2", "layerdb", "sha256", layer.chainId.encoded);
    expect((await readdir(dir)).sort()).toEqual(["cache-id", "diff", "size", "tar-split.json.gz"]);
    expect(await readdir(join(t.root, "overlay2", layer.cacheId, "diff"))).toEqual(expect.arrayContaining(["etc", "bin"]));
  });

  it("rebuilds the original tar byte for byte, and refuses tampered files", async () => {
    const tar = Buffer.concat([await base(), Buffer.alloc(4096)]); // extra zero padding after the end
    const { layer } = await t.store.register([tar]);
    expect((await collect(layer.tarStream())).equals(tar)).toBe(true);
    expect((await collect(layer.tarStream())).equals(tar)).toBe(true); // stable
    // Size and stream from one read of the tar-split; a second stream reads it again.
    const opened = await layer.openTar();
    expect(opened.size).toBe(tar.length);
    expect(await layer.tarSize()).toBe(tar.length);
    expect((await collect(opened.stream())).equals(tar)).toBe(true);
    expect((await collect(opened.stream())).equals(tar)).toBe(true);
    await writeFile(join(t.root, "overlay2", layer.cacheId, "diff", "bin", "tool"), "y".repeat(5000));
    await expect(collect(layer.tarStream())).rejects.toMatchObject({ code: expect.stringMatching(/CRC|VERIFICATION/) });
  });

  it("stacks layers: chain IDs, sizes, parents", async () => {
    const { layer: l1 } = await t.store.register([await base()]);
    const tar2 = await tarBytes([
      { name: "etc/hostname", content: "child\n" },
      { name: "bin/.wh.tool", content: "" },
    ]);
    const { layer: l2 } = await t.store.register([tar2], l1.chainId);
    expect(l2.chainId.toString()).toBe(chainId([l1.diffId, digestFromBytes(tar2)])!.toString());
    expect(l2.parent?.chainId.toString()).toBe(l1.chainId.toString());
    expect(l2.size).toBe(l1.diffSize + l2.diffSize);
    expect((await collect(l2.tarStream())).equals(tar2)).toBe(true);
  });

  it("registering an existing layer gives a handle on the same layer and leaves no orphan", async () => {
    const tar = await base();
    const { layer: a } = await t.store.register([tar]);
    const { layer: b } = await t.store.register([tar]);
    expect(b.cacheId).toBe(a.cacheId);
    expect((await readdir(join(t.root, "overlay2"))).filter((n) => n !== "l")).toEqual([a.cacheId]);
    expect(await t.store.release(a)).toEqual([]);
    const removed = await t.store.release(b);
    expect(removed.map((m) => m.chainId.toString())).toEqual([a.chainId.toString()]);
    await expect(t.store.release(b)).resolves.toEqual([]);
  });

  it("releases cascade down the chain, top first, and a handle cannot be released twice", async () => {
    const { layer: l1 } = await t.store.register([await base()]);
    const { layer: l2 } = await t.store.register([await tarBytes([{ name: "a", content: "a" }])], l1.chainId);
    const { layer: l3 } = await t.store.register([await tarBytes([{ name: "b", content: "b" }])], l2.chainId);
    const extra = await t.store.get(l1.chainId);
    expect(await t.store.release(l1)).toEqual([]);
    expect(await t.store.release(l2)).toEqual([]);
    const removed = await t.store.release(l3);
    expect(removed.map((m) => m.chainId.toString())).toEqual([l3.chainId.toString(), l2.chainId.toString()]);
    await expect(t.store.release(l2)).resolves.toEqual([]); // gone already
    expect((await t.store.release(extra)).map((m) => m.chainId.toString())).toEqual([l1.chainId.toString()]);
    expect(t.store.map().size).toBe(0);
    expect((await readdir(join(t.root, "overlay2"))).filter((n) => n !== "l")).toEqual([]);
  });

  it("restores after reopening: layers, parents, tar streams", async () => {
    const tar1 = await base();
    const tar2 = await tarBytes([{ name: "x", content: "x" }]);
    const { layer: l1 } = await t.store.register([tar1]);
    const { layer: l2 } = await t.store.register([tar2], l1.chainId);
    await t.store.close();
    const again = await t.reopen();
    expect(again.problems).toEqual([]);
    const r2 = await again.get(l2.chainId);
    expect(r2.parent?.chainId.toString()).toBe(l1.chainId.toString());
    expect(r2.size).toBe(l2.size);
    expect((await collect(r2.tarStream())).equals(tar2)).toBe(true);
  });

  it("a register over a damaged layer of the same chain ID replaces it (garbage diff, driver dir gone); one committed by another store is taken", async () => {
    const tar = await base();
    const { layer } = await t.store.register([tar]);
    await t.store.close();
    const layerdb = join(t.root, "image", "overlay2", "layerdb", "sha256", layer.chainId.encoded);
    await writeFile(join(layerdb, "diff"), "garbage\n");
    const damaged = await t.reopen();
    expect(damaged.problems.map((p) => p.chainId)).toEqual([layer.chainId.toString()]);
    const { layer: replaced } = await damaged.register([tar]);
    expect(replaced.cacheId).not.toBe(layer.cacheId);
    expect((await readFile(join(layerdb, "diff"), "utf8")).trim()).toBe(layer.diffId.toString());
    expect((await readFile(join(layerdb, "cache-id"), "utf8")).trim()).toBe(replaced.cacheId);
    await damaged.close();

    // Its driver dir gone: registered again, the fresh dir takes its place, under the same handle holders.
    const reopened = await t.reopen();
    expect(reopened.problems).toEqual([]);
    const held = await reopened.get(layer.chainId);
    expect((await held.metadata()).UpperDir).toBe(join(t.root, "overlay2", replaced.cacheId, "diff"));
    execFileSync("rm", ["-rf", join(t.root, "overlay2", replaced.cacheId)]);
    const { layer: again } = await reopened.register([tar]);
    expect(again.cacheId).not.toBe(replaced.cacheId);
    // The driver metadata, kept once read, follows the layer to its new dir.
    expect((await held.metadata()).UpperDir).toBe(join(t.root, "overlay2", again.cacheId, "diff"));
    expect((await collect(again.tarStream())).equals(tar)).toBe(true);
    expect((await collect(held.tarStream())).equals(tar)).toBe(true);
    const dirs = (await readdir(join(t.root, "overlay2"))).filter((n) => n !== "l");
    expect(dirs).toEqual([again.cacheId, layer.cacheId].sort());

    // A second store committed the chain since this one opened: its copy is taken, not shadowed.
    const other = await t.reopen();
    const tar2 = await tarBytes([{ name: "late", content: "late\n" }]);
    const { layer: theirs } = await reopened.register([tar2]);
    const { layer: mine } = await other.register([tar2]);
    expect(mine.cacheId).toBe(theirs.cacheId);
    expect((await readdir(join(t.root, "overlay2"))).filter((n) => n !== "l")).toHaveLength(3);
  });

  it("registers the empty layer", async () => {
    const { layer } = await t.store.register([Buffer.alloc(1024)]);
    expect(layer.diffId.toString()).toBe(EMPTY_TAR_DIFF_ID);
    expect(layer.diffSize).toBe(0);
    expect((await collect(layer.tarStream())).equals(Buffer.alloc(1024))).toBe(true);
  });

  it("takes gzip and zstd input, recording the uncompressed diffID", async () => {
    const tar = await base();
    const { layer: gz } = await t.store.register([gzipSync(tar)]);
    expect(gz.diffId.toString()).toBe(digestFromBytes(tar).toString());
    const zst = execFileSync("zstd", ["-q", "-c"], { input: tar });
    const { layer: z } = await t.store.register([zst]);
    expect(z.chainId.toString()).toBe(gz.chainId.toString());
  });

  it("refuses a missing parent and too deep a chain", async () => {
    await expect(t.store.register([await base()], digestFromBytes("nope"))).rejects.toMatchObject({ code: LayerErrorCode.NotFound });
    let parent = undefined as undefined | Awaited<ReturnType<typeof t.store.register>>["layer"];
    for (let i = 0; i < MAX_LAYER_DEPTH; i++) {
      parent = (await t.store.register([await tarBytes([{ name: `f${i}`, content: `${i}` }])], parent?.chainId)).layer;
    }
    await expect(t.store.register([await tarBytes([{ name: "last", content: "!" }])], parent!.chainId)).rejects.toMatchObject({
      code: LayerErrorCode.MaxDepth,
    });
  });

  it.skipIf(!hasRoot())("read-write layers: init layer, mount, changes, size, release", async () => {
    const { layer: l1 } = await t.store.register([await base()]);
    const rw = await t.store.createRWLayer("ctr", l1.chainId, {
      init: async (path) => writeFile(join(path, "init-file"), "init"),
    });
    expect(rw.initId).toBe(`${rw.mountId}-init`);
    const merged = await rw.mount();
    await writeFile(join(merged, "new-file"), "hello");
    expect((await readdir(merged)).sort()).toEqual(["bin", "etc", "init-file", "new-file"]);
    await rw.unmount();
    expect(await rw.changes()).toEqual([{ path: "/new-file", kind: "add" }]);
    expect(await rw.size()).toBe(5);
    const reopened = await t.reopen();
    const again = await reopened.getRWLayer("ctr");
    expect(again.mountId).toBe(rw.mountId);
    expect(await t.store.releaseRWLayer(rw)).toEqual([]);
  });

  it("runs over an in-memory metadata store too", async () => {
    const store = await createLayerStore({ root: t.root, driver: t.store.driver, metadata: createMemoryLayerMetadataStore() });
    const tar = await base();
    const { layer } = await store.register([tar]);
    expect((await collect(layer.tarStream())).equals(tar)).toBe(true);
    await store.release(layer);
  });

  describe("staging: extract first, stack later", () => {
    const child = () =>
      tarBytes([
        { name: "etc/hostname", content: "child\n" },
        { name: "bin/.wh.tool", content: "" },
      ]);

    it("gives the chain, parent, tar, lower dirs and merged view register gives", async () => {
      expect(t.store.canStage).toBe(true);
      const { layer: l1 } = await t.store.register([await base()]);
      const tar2 = await child();
      const staged = await t.store.stage([tar2]);
      expect(staged.diffId.toString()).toBe(digestFromBytes(tar2).toString());
      expect(t.store.map().size).toBe(1); // not in the store until committed
      const { layer: l2 } = await staged.commit(l1.chainId);
      expect(l2.chainId.toString()).toBe(chainId([l1.diffId, staged.diffId])!.toString());
      expect(l2.parent?.chainId.toString()).toBe(l1.chainId.toString());
      expect(l2.diffSize).toBe(staged.size);
      expect((await collect(l2.tarStream())).equals(tar2)).toBe(true);
      const home = join(t.root, "overlay2");
      const link = (await readFile(join(home, l1.cacheId, "link"), "utf8")).trim();
      expect(await readFile(join(home, l2.cacheId, "lower"), "utf8")).toBe(`l/${link}`);
      if (hasRoot()) {
        const rw = await t.store.createRWLayer("staged-ctr", l2.chainId);
        const merged = await rw.mount();
        expect(await readFile(join(merged, "etc/hostname"), "utf8")).toBe("child\n");
        expect(existsSync(join(merged, "bin/tool"))).toBe(false);
        await rw.unmount();
        await t.store.releaseRWLayer(rw);
      }
      const reopened = await t.reopen();
      const again = await reopened.get(l2.chainId);
      expect(again.parent?.chainId.toString()).toBe(l1.chainId.toString());
      expect((await collect(again.tarStream())).equals(tar2)).toBe(true);
    });

    it("takes a chain already there and removes its own files; discard removes them; a second commit is refused", async () => {
      const { layer: l1 } = await t.store.register([await base()]);
      const { layer: l2 } = await t.store.register([await child()], l1.chainId);
      const dirs = async () => (await readdir(join(t.root, "overlay2"))).filter((d) => d !== "l").sort();
      const before = await dirs();
      const staged = await t.store.stage([await child()]);
      expect((await dirs()).length).toBe(before.length + 1);
      const { layer: same } = await staged.commit(l1.chainId);
      expect(same.cacheId).toBe(l2.cacheId);
      expect(await dirs()).toEqual(before);
      await expect(staged.commit(l1.chainId)).rejects.toMatchObject({ code: LayerErrorCode.StagedLayerGone });
      const dropped = await t.store.stage([await child()]);
      await dropped.discard();
      await dropped.discard(); // idempotent
      expect(await dirs()).toEqual(before);
      // A base layer is staged and committed without a parent.
      const lone = await t.store.stage([await tarBytes([{ name: "lone", content: "1" }])]);
      const { layer: loneLayer } = await lone.commit();
      expect(loneLayer.parent).toBeUndefined();
      expect(loneLayer.chainId.toString()).toBe(lone.diffId.toString());
    });

    it("refuses a missing parent at commit, leaving nothing behind", async () => {
      const staged = await t.store.stage([await child()]);
      const missing = digestFromBytes(Buffer.from("no such layer"));
      await expect(staged.commit(missing)).rejects.toMatchObject({ code: LayerErrorCode.NotFound });
      expect((await readdir(join(t.root, "overlay2"))).filter((d) => d !== "l")).toEqual([]);
    });

    it("is refused, with a clear code, over a driver that cannot stack afterwards", async () => {
      const driver = t.store.driver;
      const noSetParent = new Proxy(driver, {
        get: (target, key) => {
          if (key === "setParent") return undefined;
          const value = Reflect.get(target, key) as unknown;
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      const store = await createLayerStore({ root: t.root, driver: noSetParent, metadata: createMemoryLayerMetadataStore() });
      expect(store.canStage).toBe(false);
      await expect(store.stage([await child()])).rejects.toMatchObject({ code: LayerErrorCode.Unsupported });
    });
  });
});
