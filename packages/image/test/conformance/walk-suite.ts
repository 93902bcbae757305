import { createImageStore } from "@store/image";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeLayerStore } from "./fake-layer-store";
import type { ImageConformanceFactory, ImageConformanceSubject } from "./subject";
import { imageConfig } from "./support";

/** Walk: the store holds exactly what the backend walks, sorted, strays skipped. */
export function walkSuite(name: string, factory: ImageConformanceFactory): void {
  describe(`${name}: image walk`, () => {
    let subject: ImageConformanceSubject;
    beforeEach(async () => {
      subject = await factory();
    });
    afterEach(async () => {
      await subject.cleanup();
    });

    it("restores every config the backend walks, in walk order, skipping temp files", async () => {
      const store = await createImageStore({ backend: subject.backend, layers: new FakeLayerStore() });
      for (let i = 0; i < 25; i++) await store.create(imageConfig([], `image ${i}`));
      await subject.backend.driver.write("content/sha256/.tmp-repositories.json123", new TextEncoder().encode("{}"));
      await store.close();
      const backend = await subject.reopen();
      const walked: string[] = [];
      await backend.walk((id) => {
        walked.push(id.toString());
      });
      const again = await createImageStore({ backend, layers: new FakeLayerStore() });
      expect(again.ids().map(String)).toEqual(walked);
      expect(walked).toHaveLength(25);
      expect(again.problems).toEqual([]);
    });
  });
}
