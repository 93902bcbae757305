import { contentKey } from "@store/backend";
import { chainId } from "@store/digest";
import { createImageStore } from "../image-store";
import { expect } from "vitest";
import { imageConfig } from "./image-configs";
import type { ImageCase } from "./image-fixture";

const concern = "restore";
const utf8 = (data: Uint8Array): string => Buffer.from(data).toString("utf8");

/** Restore: reopening gives the same images, configs, parents, children and heads; bad entries are reported, not fatal. */
export const restoreCases: readonly ImageCase[] = [
  {
    concern,
    name: "reopens to the same images, parents, children, heads and bytes",
    async run({ backend, reopen, layers }) {
      const [da, db] = await layers.stack(["a", "b"]);
      const store = await createImageStore({ backend, layers: layers.layers });
      const a = await store.create(imageConfig([da!], "a"));
      const b = await store.create(imageConfig([da!, db!], "b"));
      const c = await store.create(imageConfig([], "c"));
      const d = await store.create(imageConfig([da!], "d"));
      await store.setParent(b, a);
      await store.setParent(d, a);
      await store.setLastUpdated(b, { seconds: 1714557600, nanos: 5, offset: 0 });
      await store.setLastUpdated(c, { seconds: 1714557601, nanos: 0, offset: 3600 }); // metadata, but no parent
      const before = {
        ids: store.ids().map(String),
        parents: store.ids().map((id) => String(store.getParent(id))),
        children: store.ids().map((id) => store.children(id).map(String)),
        heads: [...(await store.heads()).keys()].sort(),
        bytes: await Promise.all(store.ids().map(async (id) => utf8((await store.get(id)).raw))),
      };
      await store.close();

      const again = await reopen();
      await layers.reopen();
      const restored = await createImageStore({ backend: again, layers: layers.layers });
      expect(restored.problems).toEqual([]);
      expect(restored.ids().map(String)).toEqual(before.ids);
      expect(restored.ids().map((id) => String(restored.getParent(id)))).toEqual(before.parents);
      expect(restored.ids().map((id) => restored.children(id).map(String))).toEqual(before.children);
      expect([...(await restored.heads()).keys()].sort()).toEqual(before.heads);
      expect(await Promise.all(restored.ids().map(async (id) => utf8((await restored.get(id)).raw)))).toEqual(before.bytes);
      expect(await restored.getLastUpdated(b)).toEqual({ seconds: 1714557600, nanos: 5, offset: 0 });
      expect(restored.children(a).map(String).sort()).toEqual([b, d].map(String).sort());
      expect(restored.getParent(c)).toBeUndefined();
      expect(await restored.getLastUpdated(c)).toEqual({ seconds: 1714557601, nanos: 0, offset: 3600 });
      // one handle per top layer the images stand on (a and d share one), taken at restore
      expect(layers.layers.gets).toBe(2);
      expect(layers.layers.refs(da!)).toBe(1);
      expect(layers.layers.refs(chainId([da!, db!])!)).toBe(1);
      expect(restored.len()).toBe(4);
    },
  },
  {
    concern,
    name: "reports a corrupt config and a missing layer with their keys, restores the others, deletes nothing",
    async run({ backend, reopen, layers }) {
      const [kept] = await layers.stack(["kept"]);
      const [lost] = await layers.stack(["lost"]);
      const store = await createImageStore({ backend, layers: layers.layers });
      const keptId = await store.create(imageConfig([kept!], "kept"));
      const lostId = await store.create(imageConfig([lost!], "lost"));
      const junk = await backend.set(new TextEncoder().encode("{not an image"));
      const noRootfs = await backend.set(new TextEncoder().encode('{"architecture":"amd64"}'));
      await store.close();

      const again = await reopen();
      await layers.reopen({ without: [lost!] });
      expect(await layers.has(lost!)).toBe(false);
      const restored = await createImageStore({ backend: again, layers: layers.layers });
      expect(restored.ids()).toEqual([keptId]);
      const problems = restored.problems.flatMap((p) => ("digest" in p ? [p] : []));
      expect(problems).toHaveLength(restored.problems.length);
      const kinds = Object.fromEntries(problems.map((p) => [p.digest.toString(), [p.kind, p.key]]));
      expect(kinds).toEqual({
        [lostId.toString()]: ["layer-missing", contentKey(lostId)],
        [junk.toString()]: ["invalid-config", contentKey(junk)],
        [noRootfs.toString()]: ["invalid-config", contentKey(noRootfs)],
      });
      for (const p of problems) expect(p.message).toContain(p.digest.toString());
      expect(restored.problems.find((p) => p.kind === "layer-missing")!.message).toContain(lost!.toString());
      // nothing was deleted on the way
      for (const id of [lostId, junk, noRootfs]) expect(await again.has(id)).toBe(true);
    },
  },
  {
    concern,
    name: "reports parent metadata that is not a digest, keeps the image",
    async run({ backend, reopen, layers }) {
      const store = await createImageStore({ backend, layers: layers.layers });
      const a = await store.create(imageConfig([], "a"));
      const b = await store.create(imageConfig([], "b"));
      await backend.setMetadata(b, "parent", new TextEncoder().encode("not a digest"));
      await store.close();
      await layers.reopen();
      const restored = await createImageStore({ backend: await reopen(), layers: layers.layers });
      expect(restored.ids().map(String)).toEqual([a, b].map(String).sort());
      expect(restored.getParent(b)).toBeUndefined();
      expect(restored.problems.map((p) => [p.kind, "digest" in p ? p.digest.toString() : undefined, p.key])).toEqual([
        ["invalid-parent", b.toString(), `metadata/sha256/${b.encoded}/parent`],
      ]);
    },
  },
];
