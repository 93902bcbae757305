import { createImageStore } from "../image-store";
import { expect } from "vitest";
import { imageConfig } from "./image-configs";
import type { ImageCase } from "./image-fixture";

const concern = "walk";

/** Walk: the store holds exactly what the backend walks, in walk order, strays skipped. */
export const walkCases: readonly ImageCase[] = [
  {
    concern,
    name: "restores every config the backend walks, in walk order, skipping temp files",
    async run({ backend, driver, reopen, layers }) {
      const store = await createImageStore({ backend, layers: layers.layers });
      for (let i = 0; i < 25; i++) await store.create(imageConfig([], `image ${i}`));
      // A temp file as an interrupted atomic write leaves it, where a raw handle can put one.
      await driver?.write("content/sha256/.tmp-repositories.json123", new TextEncoder().encode("{}"));
      await store.close();
      const again = await reopen();
      const walked: string[] = [];
      await again.walk((id) => {
        walked.push(id.toString());
      });
      await layers.reopen();
      const restored = await createImageStore({ backend: again, layers: layers.layers });
      expect(restored.ids().map(String)).toEqual(walked);
      expect(walked).toHaveLength(25);
      expect(restored.problems).toEqual([]);
    },
  },
];
