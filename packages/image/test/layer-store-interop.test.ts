import { existsSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { contentKey } from "@store/backend";
import { chainId } from "@store/digest";
import { hasRoot } from "@store/test-peers";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createReferenceStore } from "@store/reference";
import { ImageErrorCode, createImageService } from "../src/index";
import { config } from "./support/configs";
import { realRoot, realTar } from "./support/real-layers";

// The image store on the real layer store (layerdb + overlay2, real tars): what the fake in the
// other tests stands for has to hold here, where a released layer really disappears.
describe.skipIf(!hasRoot())("image store on the real layer store", () => {
  let t: Awaited<ReturnType<typeof realRoot>>;
  beforeEach(async () => {
    t = await realRoot();
  });
  afterEach(async () => {
    await t.cleanup();
  });

  /** Registers base and child layers as a pull would, returning their handles. */
  async function pull(layers: Awaited<ReturnType<typeof t.openLayers>>) {
    const { layer: base } = await layers.register([await realTar({ "etc/hostname": "base\n", "bin/tool": "x".repeat(3000) })]);
    const { layer: child } = await layers.register([await realTar({ "etc/motd": "hello\n" })], base.chainId);
    return { base, child };
  }

  it("creates images on registered layers with the layer store's sizes; delete releases them and their directories go", async () => {
    const layers = await t.openLayers();
    const { base, child } = await pull(layers);
    const images = await t.openImages(layers);
    const small = await images.create(config({ diffIds: [base.diffId], comment: "small" }));
    const big = await images.create(config({ diffIds: [base.diffId, child.diffId], comment: "big" }));
    // the pull gives its handles back, as dockerd's does once the image exists
    await layers.release(child);
    await layers.release(base);
    expect(images.record(small)!.size).toBe(base.diffSize);
    expect(images.record(big)!.size).toBe(base.diffSize + child.diffSize);
    expect(images.record(big)!.chainId!.toString()).toBe(chainId([base.diffId, child.diffId])!.toString());

    const references = await createReferenceStore({ path: join(t.root, "image", "overlay2", "repositories.json") });
    const service = createImageService({ images, references });
    await service.tag(big.toString(), "big:1");
    expect(service.list().map((r) => [r.Id, r.Size])).toEqual(
      expect.arrayContaining([
        [big.toString(), base.diffSize + child.diffSize],
        [small.toString(), base.diffSize],
      ]),
    );

    const childDir = t.layerDir(child.cacheId);
    const baseDir = t.layerDir(base.cacheId);
    expect(existsSync(childDir)).toBe(true);
    const removed = await service.remove("big:1");
    expect(removed).toEqual([{ Untagged: "big:1" }, { Deleted: big.toString() }, { Deleted: child.chainId.toString() }]);
    expect(existsSync(childDir)).toBe(false);
    expect(existsSync(t.layerdbDir(child.chainId.encoded))).toBe(false);
    expect(existsSync(baseDir)).toBe(true); // still held by the small image
    expect(await images.delete(small)).toEqual([expect.objectContaining({ chainId: base.chainId, diffId: base.diffId })]);
    expect(existsSync(baseDir)).toBe(false);
    expect(layers.map().size).toBe(0);
  });

  it("restores after both stores reopen: same images and sizes, one handle each, so delete still frees the layers", async () => {
    const layers = await t.openLayers();
    const { base, child } = await pull(layers);
    const images = await t.openImages(layers);
    const a = await images.create(config({ diffIds: [base.diffId], comment: "a" }));
    const b = await images.create(config({ diffIds: [base.diffId, child.diffId], comment: "b" }));
    await images.setParent(b, a);
    await images.close();
    await layers.close(); // a restart: every handle is forgotten, nothing released

    const layers2 = await t.openLayers();
    expect(layers2.problems).toEqual([]);
    const again = await t.openImages(layers2);
    expect(again.problems).toEqual([]);
    expect(again.ids().map(String)).toEqual([a, b].map(String).sort());
    expect(again.getParent(b)).toEqual(a);
    expect(again.record(b)!.size).toBe(base.diffSize + child.diffSize);
    await again.delete(b);
    expect(existsSync(t.layerDir(child.cacheId))).toBe(false);
    await again.delete(a);
    expect(existsSync(t.layerDir(base.cacheId))).toBe(false);
  });

  it("reports a missing layer and a corrupt config with their files, restores the rest, deletes nothing", async () => {
    const layers = await t.openLayers();
    const { base, child } = await pull(layers);
    const images = await t.openImages(layers);
    const kept = await images.create(config({ diffIds: [base.diffId], comment: "kept" }));
    const lost = await images.create(config({ diffIds: [base.diffId, child.diffId], comment: "lost" }));
    const corrupt = await images.create(config({ diffIds: [base.diffId], comment: "corrupt" }));
    await images.close();
    await layers.close();

    // The child layer goes while the image store is closed (its last handle released)…
    // (the base is held meanwhile: the cascade would take it too, as nothing else holds it then)
    const between = await t.openLayers();
    await between.get(base.chainId);
    await between.release(await between.get(child.chainId));
    await between.close();
    expect(existsSync(t.layerDir(child.cacheId))).toBe(false);
    // …and a config is damaged on disk.
    const corruptFile = join(t.imagedb, contentKey(corrupt));
    await writeFile(corruptFile, '{"rootfs":{"type":"layers","diff_ids":[]},"comment":"tampered"}');

    const again = await t.openImages(await t.openLayers());
    expect(again.ids()).toEqual([kept]);
    const problems = Object.fromEntries(again.problems.flatMap((p) => ("digest" in p ? [[p.kind, p] as const] : [])));
    expect(Object.keys(problems).sort()).toEqual(["invalid-config", "layer-missing"]);
    expect(problems["layer-missing"]!.digest).toEqual(lost);
    expect(problems["layer-missing"]!.message).toContain(chainId([base.diffId, child.diffId])!.toString());
    expect(existsSync(join(t.imagedb, problems["layer-missing"]!.key))).toBe(true);
    expect(problems["invalid-config"]!.digest).toEqual(corrupt);
    expect(join(t.imagedb, problems["invalid-config"]!.key)).toBe(corruptFile);
    expect(problems["invalid-config"]!.message).toContain(corrupt.toString());
    expect(existsSync(corruptFile)).toBe(true);
  });

  it("a create on a layer the store does not hold fails with ERR_IMAGE_LAYER_NOT_FOUND and writes nothing", async () => {
    const layers = await t.openLayers();
    const { base } = await pull(layers);
    const images = await t.openImages(layers);
    const tar = await realTar({ "never/registered": "x" });
    const { digestFromBytes } = await import("@store/digest");
    const bad = config({ diffIds: [base.diffId, digestFromBytes(tar)], comment: "bad" });
    await expect(images.create(bad)).rejects.toMatchObject({ code: ImageErrorCode.LayerNotFound });
    expect(images.len()).toBe(0);
    expect(existsSync(join(t.imagedb, "content", "sha256"))).toBe(false);
  });
});
