import { contentKey } from "@store/backend";
import { createImageStore } from "@store/image";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeLayerStore } from "./fake-layer-store";
import type { ImageConformanceFactory, ImageConformanceSubject } from "./subject";
import { diff, imageConfig, text } from "./support";

/** Restore: reopening gives the same images, configs, parents, children and heads; bad entries are reported, not fatal. */
export function restoreSuite(name: string, factory: ImageConformanceFactory): void {
  describe(`${name}: image restore`, () => {
    let subject: ImageConformanceSubject;
    beforeEach(async () => {
      subject = await factory();
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it("reopens to the same images, parents, children, heads and bytes", async () => {
      const layers = new FakeLayerStore();
      layers.add([diff("a"), diff("b")]);
      const store = await createImageStore({ backend: subject.backend, layers });
      const a = await store.create(imageConfig([diff("a")], "a"));
      const b = await store.create(imageConfig([diff("a"), diff("b")], "b"));
      const c = await store.create(imageConfig([], "c"));
      const d = await store.create(imageConfig([diff("a")], "d"));
      await store.setParent(b, a);
      await store.setParent(d, a);
      await store.setLastUpdated(b, { seconds: 1714557600, nanos: 5, offset: 0 });
      const before = {
        ids: store.ids().map(String),
        parents: store.ids().map((id) => String(store.getParent(id))),
        children: store.ids().map((id) => store.children(id).map(String)),
        heads: [...(await store.heads()).keys()].sort(),
        bytes: await Promise.all(store.ids().map(async (id) => text((await store.get(id)).raw))),
      };
      await store.close();

      const backend = await subject.reopen();
      const layers2 = new FakeLayerStore();
      layers2.add([diff("a"), diff("b")]);
      const again = await createImageStore({ backend, layers: layers2 });
      expect(again.problems).toEqual([]);
      expect(again.ids().map(String)).toEqual(before.ids);
      expect(again.ids().map((id) => String(again.getParent(id)))).toEqual(before.parents);
      expect(again.ids().map((id) => again.children(id).map(String))).toEqual(before.children);
      expect([...(await again.heads()).keys()].sort()).toEqual(before.heads);
      expect(await Promise.all(again.ids().map(async (id) => text((await again.get(id)).raw)))).toEqual(before.bytes);
      expect(await again.getLastUpdated(b)).toEqual({ seconds: 1714557600, nanos: 5, offset: 0 });
      expect(again.children(a).map(String).sort()).toEqual([b, d].map(String).sort());
      expect(again.getParent(c)).toBeUndefined();
      // one handle per image on its top layer, taken at restore
      expect(layers2.gets).toBe(3);
      expect(again.len()).toBe(4);
    });

    it("reports a corrupt config and a missing layer, and restores the others", async () => {
      const layers = new FakeLayerStore();
      layers.add([diff("kept")]);
      layers.add([diff("lost")]);
      const store = await createImageStore({ backend: subject.backend, layers });
      const kept = await store.create(imageConfig([diff("kept")], "kept"));
      const lost = await store.create(imageConfig([diff("lost")], "lost"));
      const junk = await subject.backend.set(new TextEncoder().encode("{not an image"));
      await store.close();

      const backend = await subject.reopen();
      const layers2 = new FakeLayerStore();
      layers2.add([diff("kept")]);
      const again = await createImageStore({ backend, layers: layers2 });
      expect(again.ids()).toEqual([kept]);
      const kinds = Object.fromEntries(again.problems.map((p) => [p.digest.toString(), [p.kind, p.key]]));
      expect(kinds).toEqual({
        [lost.toString()]: ["layer-missing", contentKey(lost)],
        [junk.toString()]: ["invalid-config", contentKey(junk)],
      });
      // nothing was deleted on the way
      expect(await backend.has(lost)).toBe(true);
      expect(await backend.has(junk)).toBe(true);
    });
  });
}
