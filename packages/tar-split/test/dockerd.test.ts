import { createHash, randomBytes } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { type DockerdPeer, dockerdSkipReason, startDockerd } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TarSplitPacket, assembleTar, encodeTarSplitLines, parseTar, readTarSplit, writeTar } from "../src/index";
import { chunked, collect, gnuTar, readAll, split, tempDir } from "./helpers";
import { makeTrickyTree } from "./tricky-tree";

const skip = dockerdSkipReason();

describe.skipIf(skip)("interop with dockerd 20.10 (vbatts/tar-split in Go)", () => {
  let dockerd: DockerdPeer;
  const tree = tempDir("tar-split-dockerd-tree-");

  beforeAll(async () => {
    makeTrickyTree(tree.path);
    dockerd = await startDockerd();
  });
  afterAll(async () => {
    await dockerd?.stop();
    tree.remove();
  });

  /** Imports `tar` as a one-layer image; returns its layerdb dir and overlay2 diff dir. */
  async function importLayer(tar: Buffer, ref: string): Promise<{ layerDir: string; diffDir: string }> {
    await dockerd.docker(["import", "-", ref], tar);
    const diffId = createHash("sha256").update(tar).digest("hex");
    // For a single layer the chain ID is the diffID; dockerd keeps the bytes as given.
    const layerDir = join(dockerd.root, "image", "overlay2", "layerdb", "sha256", diffId);
    expect(readFileSync(join(layerDir, "diff"), "utf8")).toBe(`sha256:${diffId}`);
    const cacheId = readFileSync(join(layerDir, "cache-id"), "utf8").trim();
    return { layerDir, diffDir: join(dockerd.root, "overlay2", cacheId, "diff") };
  }

  /** Rebuilds a tar from dockerd's own tar-split.json.gz and the files in its diff dir. */
  function rebuildFromDockerd(layerDir: string, diffDir: string): Promise<Buffer> {
    return collect(
      assembleTar(readTarSplit(createReadStream(join(layerDir, "tar-split.json.gz"))), (name, raw) =>
        createReadStream(raw ? Buffer.concat([Buffer.from(diffDir + "/"), raw]) : join(diffDir, name)),
      ),
    );
  }

  /** The layer.tar of a one-layer image as `docker save` writes it (dockerd rebuilds it from tar-split). */
  async function savedLayer(ref: string): Promise<Buffer> {
    const { stdout } = await dockerd.docker(["save", ref]);
    for await (const e of parseTar([stdout])) {
      if (e.header.name.endsWith("/layer.tar")) return collect(e.body);
    }
    throw new Error("no layer.tar in docker save output");
  }

  for (const format of ["gnu", "pax", "ustar-safe"] as const) {
    it(`records the same tar-split as dockerd for a GNU tar --format=${format} layer and rebuilds it from dockerd's files`, async () => {
      let tar: Buffer;
      if (format === "ustar-safe") {
        const ustarTree = tempDir("tar-split-dockerd-ustar-");
        try {
          makeTrickyTree(ustarTree.path, { ustar: true });
          tar = gnuTar(["--format=ustar", "-C", ustarTree.path, "-cf", "-", "."]);
        } finally {
          ustarTree.remove();
        }
      } else {
        tar = gnuTar([...(format === "pax" ? ["--xattrs"] : []), `--format=${format}`, "-C", tree.path, "-cf", "-", "."]);
      }
      const ref = `tar-split-${format}:1`;
      const { layerDir, diffDir } = await importLayer(tar, ref);

      const theirs = gunzipSync(readFileSync(join(layerDir, "tar-split.json.gz"))).toString("utf8").split("\n");
      const ours = encodeTarSplitLines((await split(tar)).packets).split("\n");
      expect(ours.length).toBe(theirs.length);
      for (let i = 0; i < ours.length; i++) expect(ours[i], `line ${i}`).toBe(theirs[i]);

      expect((await rebuildFromDockerd(layerDir, diffDir)).equals(tar)).toBe(true);
      expect((await savedLayer(ref)).equals(tar)).toBe(true);
    });
  }

  it("agrees on bytes after the archive (Go cuts them where its reads ended: compare them joined)", async () => {
    const base = tempDir("tar-split-dockerd-tail-");
    try {
      makeTrickyTree(base.path, { ustar: true });
      const tar = Buffer.concat([gnuTar(["--format=gnu", "-C", base.path, "-cf", "-", "."]), randomBytes(1_500_000)]);
      const { layerDir, diffDir } = await importLayer(tar, "tar-split-tail:1");
      const theirs: TarSplitPacket[] = [];
      for await (const p of readTarSplit(readFileSync(join(layerDir, "tar-split.json.gz")))) theirs.push(p);
      const ours = (await split(tar)).packets;
      const normalize = (packets: TarSplitPacket[]) => {
        const lastFile = packets.findLastIndex((p) => p.type === 1);
        const head = packets.slice(0, lastFile + 2); // up to the segment with the end blocks
        const tail = Buffer.concat(packets.slice(lastFile + 2).map((p) => p.payload ?? new Uint8Array(0)));
        return { head: encodeTarSplitLines(head), tail };
      };
      const a = normalize(ours);
      const b = normalize(theirs);
      expect(a.head).toBe(b.head);
      expect(a.tail.equals(b.tail)).toBe(true);
      expect(ours.at(-1)).toMatchObject({ type: 2, payload: new Uint8Array(0) });
      expect(theirs.at(-1)).toMatchObject({ type: 2, payload: new Uint8Array(0) });
      expect((await rebuildFromDockerd(layerDir, diffDir)).equals(tar)).toBe(true);
    } finally {
      base.remove();
    }
  });

  it("writes what Go's tar.Writer wrote for `docker export`, byte for byte, from the parsed headers", async () => {
    const tar = gnuTar(["--format=pax", "-C", tree.path, "-cf", "-", "."]);
    await importLayer(tar, "tar-split-export:1");
    await dockerd.docker(["create", "--name", "tar-split-export", "tar-split-export:1", "/none"]);
    try {
      const { stdout: exported } = await dockerd.docker(["export", "tar-split-export"]);
      const entries = await readAll(parseTar(chunked(exported, 65536)));
      expect(entries.some((e) => e.header.name.length > 100)).toBe(true);
      const rewritten = await collect(writeTar(entries.map((e) => ({ header: e.header, body: e.content }))));
      // dockerd (Go) ends its archives with the two zero blocks; nothing after.
      expect(rewritten.length).toBe(exported.length);
      expect(rewritten.equals(exported)).toBe(true);
    } finally {
      await dockerd.docker(["rm", "tar-split-export"], undefined, { allowFailure: true });
    }
  });
});
