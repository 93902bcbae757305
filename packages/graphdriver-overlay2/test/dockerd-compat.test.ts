import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { parseTar, writeTar, type TarWriteEntry } from "@store/tar-split";
import { dockerdSkipReason, startDockerd, type DockerdPeer } from "@store/test-peers";
import { createOverlay2Driver, type Overlay2Driver } from "../src/index";

async function collect(stream: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of stream) chunks.push(chunk);
  return Buffer.concat(chunks);
}

async function* from<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes;
}

/** The files of a tar, by name (content read). */
async function tarFiles(tar: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for await (const entry of parseTar(once(tar))) {
    files.set(entry.header.name, await collect(entry.body));
  }
  return files;
}

async function busyboxIsStatic(): Promise<boolean> {
  try {
    const elf = await readFile("/bin/busybox");
    if (elf.readUInt32BE(0) !== 0x7f454c46 || elf[4] !== 2) return false; // 64-bit ELF only
    const phoff = Number(elf.readBigUInt64LE(0x20));
    const phentsize = elf.readUInt16LE(0x36);
    const phnum = elf.readUInt16LE(0x38);
    for (let i = 0; i < phnum; i++) {
      if (elf.readUInt32LE(phoff + i * phentsize) === 3) return false; // PT_INTERP: dynamically linked
    }
    return true;
  } catch {
    return false;
  }
}

function chainIds(diffIds: string[]): string[] {
  const out: string[] = [];
  for (const diffId of diffIds) {
    const previous = out[out.length - 1];
    out.push(previous === undefined ? diffId : `sha256:${createHash("sha256").update(`${previous} ${diffId}`).digest("hex")}`);
  }
  return out;
}

const mtime = new Date("2021-01-02T03:04:05Z");
const baseLayer: TarWriteEntry[] = [
  { header: { name: "etc/", type: "directory", mtime } },
  { header: { name: "etc/old", type: "file", mtime }, body: Buffer.from("old\n") },
  { header: { name: "etc/os-release", type: "file", mtime }, body: Buffer.from("ID=test\n") },
  { header: { name: "bin/", type: "directory", mtime } },
  { header: { name: "opq/", type: "directory", mtime } },
  { header: { name: "opq/a", type: "file", mtime }, body: Buffer.from("a") },
];

/** The base layer plus a static busybox, so a container can run. */
async function* runnableBase(): AsyncGenerator<TarWriteEntry> {
  yield* baseLayer;
  yield { header: { name: "bin/busybox", type: "file", mode: 0o755, mtime }, body: await readFile("/bin/busybox") };
  yield { header: { name: "bin/sh", type: "symlink", linkname: "busybox", mtime } };
}
const copied: TarWriteEntry[] = [
  { header: { name: "data/", type: "directory", mode: 0o750, uid: 1000, gid: 1000, mtime } },
  { header: { name: "data/file", type: "file", mode: 0o4755, uid: 1000, gid: 1000, mtime }, body: Buffer.from("hello from docker cp\n") },
  { header: { name: "data/hard", type: "hardlink", linkname: "data/file", mode: 0o4755, uid: 1000, gid: 1000, mtime } },
  { header: { name: "data/link", type: "symlink", linkname: "../etc/os-release", mtime } },
  { header: { name: "etc/added", type: "file", mode: 0o600, mtime }, body: Buffer.from("x".repeat(3000)) },
];

describe.skipIf(dockerdSkipReason() !== undefined)("layers written by dockerd", () => {
  let peer: DockerdPeer;
  let driver: Overlay2Driver;
  let savedLayers: Buffer[];
  let cacheIds: string[];
  let sizes: number[];
  let runLayer: Buffer | undefined;
  let runMount: { mountId: string; initId: string } | undefined;

  beforeAll(async () => {
    peer = await startDockerd();
    await peer.docker(["import", "--change", 'CMD ["/bin/none"]', "-", "gd-base:1"], writeTar(from(baseLayer)));
    await peer.docker(["create", "--name", "c1", "gd-base:1"]);
    await peer.docker(["cp", "-", "c1:/"], writeTar(from(copied)));
    await peer.docker(["commit", "c1", "gd-next:1"]);
    await peer.docker(["rm", "c1"]);

    const save = await peer.docker(["save", "gd-next:1"]);
    const files = await tarFiles(save.stdout);
    const manifest = JSON.parse(files.get("manifest.json")!.toString()) as Array<{ Layers: string[] }>;
    savedLayers = manifest[0]!.Layers.map((name) => files.get(name)!);
    const inspect = await peer.docker(["image", "inspect", "--format", "{{json .RootFS.Layers}}", "gd-next:1"]);
    const layerdb = join(peer.root, "image", "overlay2", "layerdb", "sha256");
    cacheIds = [];
    sizes = [];
    for (const chainId of chainIds(JSON.parse(inspect.stdout.toString()) as string[])) {
      const dir = join(layerdb, chainId.slice("sha256:".length));
      cacheIds.push((await readFile(join(dir, "cache-id"), "utf8")).trim());
      sizes.push(Number((await readFile(join(dir, "size"), "utf8")).trim()));
    }
    driver = await createOverlay2Driver({ home: join(peer.root, "overlay2") });

    // A container that deletes a file and replaces a directory: whiteouts and an opaque dir in
    // its layer. dockerd's commit diffs the container layer against its init layer.
    if (await busyboxIsStatic()) {
      await peer.docker(["import", "--change", 'CMD ["/bin/sh"]', "-", "gd-busybox:1"], writeTar(runnableBase()));
      const script = "rm /etc/old && rm -r /opq && mkdir /opq && echo n > /opq/new && mkdir -p /x && echo y > /x/y";
      await peer.docker(["run", "--pull", "never", "--network", "none", "--name", "c2", "gd-busybox:1", "/bin/sh", "-c", script]);
      const container = (await peer.docker(["inspect", "--format", "{{.Id}}", "c2"])).stdout.toString().trim();
      const mounts = join(peer.root, "image", "overlay2", "layerdb", "mounts", container);
      runMount = {
        mountId: (await readFile(join(mounts, "mount-id"), "utf8")).trim(),
        initId: (await readFile(join(mounts, "init-id"), "utf8")).trim(),
      };
      await peer.docker(["commit", "c2", "gd-run:1"]);
      const saved = await tarFiles((await peer.docker(["save", "gd-run:1"])).stdout);
      const runManifest = JSON.parse(saved.get("manifest.json")!.toString()) as Array<{ Layers: string[] }>;
      runLayer = saved.get(runManifest[0]!.Layers.at(-1)!);
    }
  }, 120_000);

  afterAll(async () => {
    await driver?.cleanup();
    await peer?.stop();
  }, 60_000);

  it("diffs dockerd's committed layer to the very bytes dockerd recorded for it", async () => {
    expect(cacheIds).toHaveLength(2);
    const ours = await collect(driver.diff(cacheIds[1]!, cacheIds[0]));
    const theirs = savedLayers[1]!;
    if (!ours.equals(theirs)) {
      let i = 0;
      while (i < ours.length && ours[i] === theirs[i]) i++;
      const block = Math.floor(i / 512) * 512;
      console.log(JSON.stringify(ours.subarray(block, block + 512).toString("latin1")));
      console.log(JSON.stringify(theirs.subarray(block, block + 512).toString("latin1")));
      expect.fail(`tars differ at byte ${i} (block ${Math.floor(i / 512)}, offset ${i % 512}); ours ${ours.length} bytes, dockerd's ${theirs.length}`);
    }
  });

  it("diffs a container layer with whiteouts and an opaque dir to the bytes dockerd committed", async (ctx) => {
    if (runLayer === undefined || runMount === undefined) ctx.skip();
    const ours = await collect(driver.diff(runMount!.mountId, runMount!.initId));
    const names: string[] = [];
    for await (const entry of parseTar(once(ours))) names.push(entry.header.name);
    expect(names).toEqual(expect.arrayContaining(["etc/.wh.old", "opq/", "opq/.wh..wh..opq", "opq/new", "x/", "x/y"]));
    expect(ours.equals(runLayer!)).toBe(true);
    expect(await driver.changes(runMount!.mountId, runMount!.initId)).toEqual(
      expect.arrayContaining([
        { path: "/etc/old", kind: "delete" },
        { path: "/opq", kind: "delete" },
        { path: "/opq/new", kind: "add" },
      ]),
    );
  });

  it("measures layers as dockerd's layerdb size", async () => {
    expect(await driver.diffSize(cacheIds[0]!)).toBe(sizes[0]);
    expect(await driver.diffSize(cacheIds[1]!, cacheIds[0])).toBe(sizes[1]);
  });

  it("reads dockerd's layout: metadata, changes and a mounted view", async () => {
    const [base, next] = cacheIds as [string, string];
    const metadata = await driver.metadata(next);
    expect(metadata.LowerDir).toBe(join(driver.home, base, "diff"));
    expect(await driver.changes(next, base)).toEqual([
      { path: "/data", kind: "add" },
      { path: "/data/file", kind: "add" },
      { path: "/data/hard", kind: "add" },
      { path: "/data/link", kind: "add" },
      { path: "/etc", kind: "modify" },
      { path: "/etc/added", kind: "add" },
    ]);
    await driver.createReadWrite("gd-test-rw", next);
    const merged = await driver.get("gd-test-rw");
    try {
      expect(await readFile(join(merged, "data/file"), "utf8")).toBe("hello from docker cp\n");
      expect(await readFile(join(merged, "data/link"), "utf8")).toBe("ID=test\n");
      expect(await readFile(join(merged, "etc/os-release"), "utf8")).toBe("ID=test\n");
    } finally {
      await driver.put("gd-test-rw");
      await driver.remove("gd-test-rw");
    }
  });
});
