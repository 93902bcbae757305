import { BackendErrorCode } from "@store/backend";
import { chainId } from "@store/digest";
import { ImageErrorCode } from "../errors";
import { createImageStore } from "../image-store";
import { expect } from "vitest";
import { imageConfig } from "./image-configs";
import type { ImageCase } from "./image-fixture";

const concern = "chain";
const utf8 = (data: Uint8Array): string => Buffer.from(data).toString("utf8");

/** Chain: chain IDs of created images, layer handles, and parent links across create, delete and re-parent. */
export const chainCases: readonly ImageCase[] = [
  {
    concern,
    name: "retains the layer named by the chain ID of the diff IDs, one handle per layer",
    async run({ backend, layers }) {
      const stack = await layers.stack(["1", "2", "3"]);
      const store = await createImageStore({ backend, layers: layers.layers });
      for (let n = 0; n <= stack.length; n++) {
        const id = await store.create(imageConfig(stack.slice(0, n), `depth ${n}`));
        const expected = chainId(stack.slice(0, n));
        expect(store.record(id)!.chainId?.toString()).toBe(expected?.toString());
        expect(store.record(id)!.layer?.chainId.toString()).toBe(expected?.toString());
        if (expected) expect(layers.layers.refs(expected)).toBe(1);
        // creating it again takes no second handle
        await store.create(imageConfig(stack.slice(0, n), `depth ${n}`));
        if (expected) expect(layers.layers.refs(expected)).toBe(1);
      }
      expect(layers.layers.gets).toBe(3);
    },
  },
  {
    concern,
    name: "images on one layer share one handle; the last one's delete gives it back, once",
    async run({ backend, layers }) {
      const [d1, d2] = await layers.stack(["x", "y"]);
      const top = chainId([d1!, d2!])!;
      const store = await createImageStore({ backend, layers: layers.layers });
      const [one, two] = await Promise.all([store.create(imageConfig([d1!, d2!], "one")), store.create(imageConfig([d1!, d2!], "two"))]);
      expect(layers.layers.gets).toBe(1);
      expect(layers.layers.refs(top)).toBe(1);
      expect(await store.delete(one!)).toEqual([]);
      expect(layers.layers.refs(top)).toBe(1);
      expect(layers.layers.releases).toBe(0);
      expect(await layers.has(top)).toBe(true);
      expect(await backend.has(one!)).toBe(false);
      await store.delete(two!);
      expect(layers.layers.refs(top)).toBe(0);
      expect(layers.layers.releases).toBe(1);
      await expect(store.delete(two!)).rejects.toMatchObject({ code: ImageErrorCode.NotFound });
      expect(layers.layers.releases).toBe(1);
    },
  },
  {
    concern,
    name: "a create whose layer is missing fails with ERR_IMAGE_LAYER_NOT_FOUND and stores nothing",
    async run({ backend, layers }) {
      const [present] = await layers.stack(["present"]);
      const store = await createImageStore({ backend, layers: layers.layers });
      const missing = chainId([present!, present!])!; // a stack never registered
      const config = imageConfig([present!, present!], "missing");
      await expect(store.create(config)).rejects.toMatchObject({ code: ImageErrorCode.LayerNotFound, message: expect.stringContaining(missing.toString()) });
      const walked: string[] = [];
      await backend.walk((id) => void walked.push(id.toString()));
      expect(walked).toEqual([]);
      expect(store.len()).toBe(0);
    },
  },
  {
    concern,
    name: "keeps parent links through create, re-parent and delete, on disk as raw digests",
    async run({ backend, reopen, layers }) {
      const store = await createImageStore({ backend, layers: layers.layers });
      const [a, b, c, d] = await Promise.all(["a", "b", "c", "d"].map((n) => store.create(imageConfig([], n))));
      await store.setParent(b!, a!);
      await store.setParent(c!, b!);
      await store.setParent(d!, b!);
      expect(store.children(b!).map(String)).toEqual([c, d].map(String).sort());
      expect(utf8(await backend.getMetadata(c!, "parent"))).toBe(b!.toString());
      await store.setParent(d!, a!);
      expect(store.children(b!)).toEqual([c]);
      expect(store.children(a!).map(String).sort()).toEqual([b, d].map(String).sort());
      await expect(store.setParent(a!, c!)).rejects.toMatchObject({ code: ImageErrorCode.Conflict });
      await store.delete(b!);
      expect(store.getParent(c!)).toBeUndefined();
      expect(store.children(a!)).toEqual([d]);
      await expect(backend.getMetadata(c!, "parent")).rejects.toMatchObject({ code: BackendErrorCode.NotFound });
      await store.close();
      await layers.reopen();
      const again = await createImageStore({ backend: await reopen(), layers: layers.layers });
      expect(again.getParent(d!)).toEqual(a);
      expect(again.getParent(c!)).toBeUndefined();
      expect(again.children(a!)).toEqual([d]);
      expect(again.has(b!)).toBe(false);
    },
  },
];
