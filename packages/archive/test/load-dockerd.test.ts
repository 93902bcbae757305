import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDigest } from "@store/digest";
import { type DockerdPeer, busyboxSkipReason, dockerdSkipReason, startDockerd } from "@store/test-peers";
import { loadArchive } from "../src/index";
import { type Fixture, buildFixture } from "./dockerd-fixture";
import { chunked, tempStores } from "./helpers";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

describe.skipIf(skip !== undefined)("loading what a real dockerd saved", () => {
  let peer: DockerdPeer;
  let fixture: Fixture;
  let saved: Buffer;

  beforeAll(async () => {
    peer = await startDockerd();
    fixture = await buildFixture(peer);
    saved = (await peer.docker(["save", "layered:1", "base:1"])).stdout;
  }, 300_000);

  afterAll(async () => {
    await peer?.stop();
  });

  it("loads docker save output: same image IDs, tags and diff IDs", async () => {
    const stores = await tempStores();
    try {
      const progress: string[] = [];
      const result = await loadArchive(chunked(saved), stores, { onProgress: (p) => progress.push(p.id!) });
      expect(result.format).toBe("docker-archive");
      expect(result.images.map((i) => i.id.toString()).sort()).toEqual([fixture.base, fixture.layered].sort());
      expect(result.messages.filter((m) => m.startsWith("Loaded image: ")).sort()).toEqual(["Loaded image: base:1", "Loaded image: layered:1"]);
      expect(stores.references.get("layered:1").toString()).toBe(fixture.layered);
      const img = await stores.images.get(parseDigest(fixture.layered));
      const inspect = JSON.parse((await peer.docker(["image", "inspect", "layered:1"])).stdout.toString())[0];
      expect(img.rootFS.diffIds.map(String)).toEqual(inspect.RootFS.Layers);
      expect(progress.length).toBeGreaterThan(0);
      // dockerd 20.10's load records no lastUpdated.
      expect(await stores.images.getLastUpdated(parseDigest(fixture.layered))).toBeUndefined();
    } finally {
      await stores.cleanup();
    }
  });
});
