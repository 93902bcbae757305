import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseDigest } from "@store/digest";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { type DockerdPeer, buildImage, busyboxSkipReason, dockerdSkipReason, importBusyboxBase, startDockerd } from "@store/test-peers";
import { createLayerStore } from "../src/index";
import { collect } from "./helpers";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

describe.skipIf(skip !== undefined)("layers a real dockerd registered", () => {
  let peer: DockerdPeer;
  let saved: string;
  let diffIds: string[];

  beforeAll(async () => {
    peer = await startDockerd();
    await importBusyboxBase(peer, "base:1");
    await buildImage(
      peer,
      "layered:1",
      [
        "FROM base:1",
        // whiteouts: a deleted file; an opaque dir: a directory removed and made again
        "RUN rm /etc/motd && mkdir -p /data/sub && echo one > /data/sub/f && ln /data/sub/f /data/hard && ln -s sub/f /data/soft",
        "RUN rm -rf /data/sub && mkdir /data/sub && echo two > /data/sub/g && mkfifo /data/fifo && chmod 4755 /data/sub/g",
        'LABEL purpose="metadata-only step"',
      ].join("\n"),
    );
    const dir = await mkdtemp(join(tmpdir(), "docker-save-"));
    saved = dir;
    const tar = (await peer.docker(["save", "layered:1"])).stdout;
    execFileSync("tar", ["-C", dir, "-x"], { input: tar, maxBuffer: 256 << 20 });
    const inspect = JSON.parse((await peer.docker(["image", "inspect", "layered:1"])).stdout.toString());
    diffIds = inspect[0].RootFS.Layers;
  }, 300_000);

  afterAll(async () => {
    await peer?.stop();
    if (saved) await rm(saved, { recursive: true, force: true });
  });

  it("opens dockerd's root and rebuilds every layer's tar byte for byte", async () => {
    const store = await createLayerStore({ root: peer.root, driver: await createOverlay2Driver({ home: join(peer.root, "overlay2") }) });
    try {
      expect(store.problems).toEqual([]);
      const manifest = JSON.parse(await readFile(join(saved, "manifest.json"), "utf8"));
      const layerTars: string[] = manifest[0].Layers;
      expect(layerTars.length).toBe(diffIds.length);
      let parent: string | undefined;
      for (let i = 0; i < diffIds.length; i++) {
        const diffId = parseDigest(diffIds[i]!);
        const layer = [...store.map().values()].find(
          (l) => l.diffId.equals(diffId) && (parent === undefined ? l.parent === undefined : l.parent?.chainId.toString() === parent),
        );
        expect(layer, `layer ${i} (${diffId}) in dockerd's layerdb`).toBeDefined();
        const ours = await collect(layer!.tarStream());
        const theirs = await readFile(join(saved, layerTars[i]!));
        expect(ours.equals(theirs), `layer ${i} rebuilt byte for byte`).toBe(true);
        parent = layer!.chainId.toString();
      }
    } finally {
      await store.close();
    }
  });

  it("registers dockerd's layer tars into a fresh store with the same chain IDs and tar-split", async () => {
    const root = await mkdtemp(join(tmpdir(), "layer-reimport-"));
    const store = await createLayerStore({ root, driver: await createOverlay2Driver({ home: join(root, "overlay2") }) });
    try {
      const manifest = JSON.parse(await readFile(join(saved, "manifest.json"), "utf8"));
      let parent;
      for (const [i, path] of (manifest[0].Layers as string[]).entries()) {
        const theirs = await readFile(join(saved, path));
        const { layer } = await store.register([theirs], parent);
        expect(layer.diffId.toString()).toBe(diffIds[i]);
        expect((await collect(layer.tarStream())).equals(theirs)).toBe(true);
        // The same tar-split lines dockerd recorded (gzip bytes differ: Go's deflate is not zlib's).
        const ourSplit = execFileSync("gunzip", {
          input: await readFile(join(root, "image/overlay2/layerdb/sha256", layer.chainId.encoded, "tar-split.json.gz")),
        });
        const theirSplit = execFileSync("gunzip", {
          input: await readFile(join(peer.root, "image/overlay2/layerdb/sha256", layer.chainId.encoded, "tar-split.json.gz")),
        });
        expect(ourSplit.toString()).toBe(theirSplit.toString());
        parent = layer.chainId;
      }
    } finally {
      await store.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});
