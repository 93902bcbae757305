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

/**
 * A recording split where Go's output stops being canonical: the packets up to the segment with the
 * end blocks (exact, as JSON lines), then the bytes after the archive joined, since Go cuts those
 * wherever its reads ended (and may or may not end with an empty segment).
 */
function canonical(packets: TarSplitPacket[]): { head: string[]; tail: Buffer } {
  const lastFile = packets.findLastIndex((p) => p.type === 1);
  const afterFile = packets[lastFile + 1];
  const headEnd = afterFile && afterFile.type === 2 ? lastFile + 2 : lastFile + 1;
  return {
    head: encodeTarSplitLines(packets.slice(0, headEnd)).split("\n"),
    tail: Buffer.concat(packets.slice(headEnd).map((p) => p.payload ?? new Uint8Array(0))),
  };
}

async function readPackets(gz: Buffer): Promise<TarSplitPacket[]> {
  const out: TarSplitPacket[] = [];
  for await (const p of readTarSplit(gz)) out.push(p);
  return out;
}

/** Bytes of the archive proper: everything up to and including the end-blocks segment. */
function canonicalArchiveLength(packets: TarSplitPacket[]): number {
  const lastFile = packets.findLastIndex((p) => p.type === 1);
  return packets.slice(0, lastFile + 2).reduce((n, p) => n + (p.type === 2 ? p.payload.length : p.size), 0);
}

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
        createReadStream(raw ? Buffer.concat([Buffer.from(`${diffDir}/`), raw]) : join(diffDir, name)),
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

      const gz = readFileSync(join(layerDir, "tar-split.json.gz"));
      const theirs = canonical(await readPackets(gz));
      const ours = canonical((await split(tar)).packets);
      expect(ours.head.length).toBe(theirs.head.length);
      for (let i = 0; i < ours.head.length; i++) expect(ours.head[i], `line ${i}`).toBe(theirs.head[i]);
      expect(ours.tail.equals(theirs.tail)).toBe(true);
      // The JSON text itself, not just what it decodes to: dockerd's lines start with ours.
      const text = gunzipSync(gz).toString("utf8");
      expect(text.startsWith(ours.head.join("\n"))).toBe(true);

      expect((await rebuildFromDockerd(layerDir, diffDir)).equals(tar)).toBe(true);
      expect((await savedLayer(ref)).equals(tar)).toBe(true);
    });
  }

  it("records exactly dockerd's decompressed tar-split, every line, for an archive from writeTar (nothing after its end blocks)", async () => {
    const tar = await collect(
      writeTar([
        { header: { name: "dir/", type: "directory", mtime: new Date(1_700_000_000_000) } },
        { header: { name: "dir/file", type: "file", uid: 3_000_000, xattrs: { "user.k": Buffer.from("v") } }, body: Buffer.from("content\n") },
        { header: { name: `dir/${"long-".repeat(40)}`, type: "file", mtime: new Date(1_700_000_000_123) }, body: randomBytes(5000) },
        { header: { name: "dir/raw", nameRaw: Buffer.from([0x64, 0x69, 0x72, 0x2f, 0xff, 0xfe]), type: "file" }, body: Buffer.from("raw\n") },
        { header: { name: "dir/link", type: "symlink", linkname: "t".repeat(300) } },
        { header: { name: "dir/hard", type: "hardlink", linkname: "dir/file" } },
        { header: { name: "dir/<html>&", type: "file" }, body: Buffer.alloc(512, 1) },
      ]),
    );
    const { layerDir, diffDir } = await importLayer(tar, "tar-split-writer:1");
    const theirs = gunzipSync(readFileSync(join(layerDir, "tar-split.json.gz"))).toString("utf8");
    expect(encodeTarSplitLines((await split(tar)).packets)).toBe(theirs);
    expect((await rebuildFromDockerd(layerDir, diffDir)).equals(tar)).toBe(true);
  });

  it("agrees on bytes after the archive (Go cuts them where its reads ended: compare them joined)", async () => {
    const base = tempDir("tar-split-dockerd-tail-");
    try {
      makeTrickyTree(base.path, { ustar: true });
      const tar = Buffer.concat([gnuTar(["--format=gnu", "-C", base.path, "-cf", "-", "."]), randomBytes(1_500_000)]);
      const { layerDir, diffDir } = await importLayer(tar, "tar-split-tail:1");
      const theirs = await readPackets(readFileSync(join(layerDir, "tar-split.json.gz")));
      const ours = (await split(tar)).packets;
      expect(canonical(ours).head).toEqual(canonical(theirs).head);
      expect(canonical(ours).tail.equals(canonical(theirs).tail)).toBe(true);
      expect(canonical(ours).tail.length).toBe(tar.length - canonicalArchiveLength(ours));
      expect(ours.at(-1)).toMatchObject({ type: 2, payload: new Uint8Array(0) });
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
