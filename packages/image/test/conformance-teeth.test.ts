import { type StoreBackend, createBackend } from "@store/backend";
import { describe, expect, test } from "vitest";
import { runCases } from "@store/conformance";
import { MapDriver } from "@store/test-support";
import { type ImageCase, imageCases, imageHooks } from "../src/conformance/index";

// The image suites must fail backends that would break an image store: each below is broken in
// one way, and the cases that depend on that promise must fail on it.

/** A backend over one shared Map (so reopen sees the data), with some methods replaced. */
function patched(patch: (good: StoreBackend) => Partial<StoreBackend>) {
  return () => {
    const objects = new Map<string, Uint8Array[]>();
    const open = () => {
      const good = createBackend(new MapDriver({ objects, capabilities: { persistent: true } }));
      return { ...good, ...patch(good) } as StoreBackend;
    };
    return { backend: open(), reopen: async () => open() };
  };
}

async function failed(make: ReturnType<typeof patched>, cases: readonly ImageCase[] = imageCases): Promise<string[]> {
  const results = await runCases(cases, imageHooks(make), {});
  return results.filter((r) => r.status === "failed").map((r) => r.case.name);
}

describe("the image suites fail broken backends", () => {
  test("a correct backend fails none", async () => {
    expect(await failed(patched(() => ({})))).toEqual([]);
  });

  test("metadata deletes that do nothing leave a stale parent link", async () => {
    expect(await failed(patched(() => ({ deleteMetadata: async () => {} })))).toContain(
      "keeps parent links through create, re-parent and delete, on disk as raw digests",
    );
  });

  test("a walk that loses an entry loses an image at restore", async () => {
    const lossy = patched((good) => ({
      walk: async (fn) => {
        let first = true;
        await good.walk((id) => {
          if (first) return void (first = false);
          return fn(id);
        });
      },
    }));
    expect(await failed(lossy)).toEqual(
      expect.arrayContaining([
        "reopens to the same images, parents, children, heads and bytes",
        "restores every config the backend walks, in walk order, skipping temp files",
      ]),
    );
  });

  test("a delete that keeps the content is caught", async () => {
    expect(await failed(patched(() => ({ delete: async () => {} })))).toContain(
      "images on one layer share one handle; the last one's delete gives it back, once",
    );
  });
});
