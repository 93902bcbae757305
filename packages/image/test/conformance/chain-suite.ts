import { chainId } from "@store/digest";
import { createImageStore } from "@store/image";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeLayerStore } from "./fake-layer-store";
import type { ImageConformanceFactory, ImageConformanceSubject } from "./subject";
import { diff, imageConfig, text } from "./support";

/** Chain: chain IDs of created images, and parent links across create, delete and re-parent. */
export function chainSuite(name: string, factory: ImageConformanceFactory): void {
  describe(`${name}: image chain`, () => {
    let subject: ImageConformanceSubject;
    beforeEach(async () => {
      subject = await factory();
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it("retains the layer named by the chain ID of the diff IDs", async () => {
      const layers = new FakeLayerStore();
      const stack = [diff("1"), diff("2"), diff("3")];
      layers.add(stack);
      const store = await createImageStore({ backend: subject.backend, layers });
      for (let n = 0; n <= stack.length; n++) {
        const id = await store.create(imageConfig(stack.slice(0, n), `depth ${n}`));
        const expected = chainId(stack.slice(0, n));
        expect(store.record(id)!.chainId?.toString()).toBe(expected?.toString());
        expect(store.record(id)!.layer?.chainId.toString()).toBe(expected?.toString());
        if (expected) expect(layers.refs(expected)).toBe(1);
      }
    });

    it("keeps parent links through create, re-parent and delete, on disk as raw digests", async () => {
      const layers = new FakeLayerStore();
      const store = await createImageStore({ backend: subject.backend, layers });
      const [a, b, c, d] = await Promise.all(["a", "b", "c", "d"].map((n) => store.create(imageConfig([], n))));
      await store.setParent(b!, a!);
      await store.setParent(c!, b!);
      await store.setParent(d!, b!);
      expect(store.children(b!).map(String)).toEqual([c, d].map(String).sort());
      expect(text(await subject.backend.getMetadata(c!, "parent"))).toBe(b!.toString());
      await store.setParent(d!, a!);
      expect(store.children(b!)).toEqual([c]);
      expect(store.children(a!).map(String).sort()).toEqual([b, d].map(String).sort());
      await store.delete(b!);
      expect(store.getParent(c!)).toBeUndefined();
      expect(store.children(a!)).toEqual([d]);
      await expect(subject.backend.getMetadata(c!, "parent")).rejects.toMatchObject({ code: "ERR_BACKEND_NOT_FOUND" });
      await store.close();
      const again = await createImageStore({ backend: await subject.reopen(), layers });
      expect(again.getParent(d!)).toEqual(a);
      expect(again.getParent(c!)).toBeUndefined();
      expect(again.children(a!)).toEqual([d]);
      expect(again.has(b!)).toBe(false);
    });
  });
}
