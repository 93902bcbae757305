import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { mkdir, readFile, statfs, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type RegistryPeer, hasRoot, registrySkipReason, startRegistry, writeDockerArchive } from "@store/test-peers";
import { buildTestImage, filesUnder, makeTar, tempDir, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "@store/service";

const free = async (dir: string) => {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
};

// A real full disk: the root on a 6 MiB tmpfs, and a load, an import and a pull of an image of
// 8 MiB of incompressible bytes. Each fails with one line naming "no space left on device",
// leaves the root's files as they were (a pull's partial download and verified blobs aside: they
// are there for the next try),
// gives the space back, and releases the writer lock: the next opening does not wait.
describe.skipIf(!hasRoot())("a full disk", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let mnt: string;
  let root: string;
  let registry: RegistryPeer | undefined;
  const big = randomBytes(8 << 20);
  let archive: string;
  let tar: string;

  beforeAll(async () => {
    ({ path: dir, remove } = await tempDir("disk-full-"));
    mnt = join(dir, "mnt");
    await mkdir(mnt);
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=6m,mode=0755", "tmpfs", mnt]);
    root = join(mnt, "root");
    const store = await openStore({ root });
    await store.close();
    archive = join(dir, "big.tar");
    await writeDockerArchive(archive, "big:1", [{ "etc/motd": "small\n" }, { "big.bin": big }]);
    tar = join(dir, "rootfs.tar");
    await writeFile(tar, await makeTar({ "big.bin": big.toString("latin1") }));
    if (registrySkipReason() === undefined) {
      registry = await startRegistry();
      await uploadTestImage(
        registry.host,
        "big",
        "1",
        await buildTestImage([{ "etc/motd": "small\n" }, { "big.bin": big.toString("latin1") }], { compress: false }),
      );
    }
  });
  afterAll(async () => {
    await registry?.stop();
    if (mnt) execFileSync("umount", [mnt]);
    await remove?.();
  });

  const commands = [
    { name: "load", run: async (s: Awaited<ReturnType<typeof openStore>>) => s.load([await readFile(archive)], { quiet: true }) },
    { name: "import", run: async (s: Awaited<ReturnType<typeof openStore>>) => s.import([await readFile(tar)], { tag: "big:2" }) },
    { name: "pull", run: async (s: Awaited<ReturnType<typeof openStore>>) => s.pull(`${registry!.host}/big:1`) },
  ];
  for (const { name, run } of commands) {
    it(`${name} of an image larger than the disk: one clear error, nothing left, space given back, lock released`, async (ctx) => {
      if (name === "pull" && !registry) return ctx.skip(registrySkipReason());
      const before = await filesUnder(root);
      const space = await free(mnt);
      const store = await openStore({ root });
      let error: Error | undefined;
      try {
        await run(store);
      } catch (e) {
        error = e as Error;
      } finally {
        await store.close();
      }
      expect(error, "the command must fail").toBeInstanceOf(Error);
      expect(error!.message).toMatch(/no space left on device/);
      expect(error!.message.split("\n")).toHaveLength(1);
      // A pull keeps what it verified for the next try: partial downloads, and the blobs of
      // layers that were complete in the content store (a cache, as registry-pull.md says).
      const partial = (p: string) => p.startsWith("image/overlay2/partial-downloads/") || p.startsWith("image/overlay2/blobs/content/");
      const after = (await filesUnder(root)).filter((p) => !partial(p));
      expect(after).toEqual(before.filter((p) => !partial(p)));
      execFileSync("rm", ["-rf", join(root, "image/overlay2/partial-downloads"), join(root, "image/overlay2/blobs/content")]);
      expect(await free(mnt)).toBeGreaterThanOrEqual(space - 64 * 1024);
      const started = Date.now();
      const next = await openStore({ root, lockTimeoutMs: 1_000 });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect((await next.verify()).problems).toEqual([]);
      await next.close();
    });
  }
});
