import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type DockerdPeer, busyboxSkipReason, dockerdSkipReason, startDockerdOnRoot } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { store, tempDir } from "./helpers";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

/** A busybox root filesystem as a tar (GNU tar, numeric owners). */
async function busyboxTar(dir: string): Promise<Buffer> {
  const rootfs = join(dir, "rootfs");
  await mkdir(join(rootfs, "bin"), { recursive: true });
  await mkdir(join(rootfs, "etc"), { recursive: true });
  await copyFile("/bin/busybox", join(rootfs, "bin/busybox"));
  for (const applet of ["sh", "cat", "ls"]) await symlink("busybox", join(rootfs, "bin", applet));
  await writeFile(join(rootfs, "etc/greeting"), "imported by store\n");
  return execFileSync("tar", ["-C", rootfs, "--numeric-owner", "-c", "."], { maxBuffer: 64 << 20 });
}

/** A docker-archive of `base` plus a layer with a 2 MB file, the top layer's dir sorting first. */
async function outOfOrderArchive(dir: string, base: Buffer): Promise<Buffer> {
  const src = join(dir, "top-layer");
  await mkdir(join(src, "data"), { recursive: true });
  await writeFile(join(src, "data/big.txt"), "0123456789abcdef".repeat(131072));
  const top = execFileSync("tar", ["-C", src, "--numeric-owner", "-c", "."], { maxBuffer: 64 << 20 });
  const sha = (b: Buffer) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    created: "2024-05-06T07:08:09Z",
    config: { Cmd: ["sh"] },
    rootfs: { type: "layers", diff_ids: [sha(base), sha(top)] },
    history: [
      { created: "2024-05-06T07:08:09Z", created_by: "base" },
      { created: "2024-05-06T07:08:09Z", created_by: "top" },
    ],
  });
  const archive = join(dir, "archive");
  await mkdir(join(archive, "aaaa"), { recursive: true }); // the top layer: sorts first
  await mkdir(join(archive, "bbbb"), { recursive: true });
  await writeFile(join(archive, "aaaa/layer.tar"), top);
  await writeFile(join(archive, "bbbb/layer.tar"), base);
  const configName = `${createHash("sha256").update(config).digest("hex")}.json`;
  await writeFile(join(archive, configName), config);
  await writeFile(
    join(archive, "manifest.json"),
    JSON.stringify([{ Config: configName, RepoTags: ["stacked:1"], Layers: ["bbbb/layer.tar", "aaaa/layer.tar"] }]),
  );
  return execFileSync("tar", ["-C", archive, "--sort=name", "-c", "."], { maxBuffer: 64 << 20 });
}

// What `store import` writes into a fresh root, a dockerd started on that root lists and runs.
describe.skipIf(skip)("store import into a fresh root, then dockerd on it", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let id: string;
  let peer: DockerdPeer | undefined;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, "root");
    const tar = await busyboxTar(dir);
    const r = await store(["--root", root, "import", "-c", 'CMD ["sh"]', "-c", "ENV GREETING=hello", "-", "imported:1"], { stdin: tar });
    expect(r.stderr).toBe("");
    id = r.stdout.trim();
    expect(await store(["--root", root, "tag", "imported:1", "example.com/imported"])).toMatchObject({ code: 0 });
    // A two-layer image whose top layer (over 1 MiB) comes before its base in the archive, as in a
    // classic docker save: store load extracts it before knowing its parent and stacks it later.
    const loaded = await store(["--root", root, "load"], { stdin: await outOfOrderArchive(dir, tar) });
    expect([loaded.code, loaded.stderr, loaded.stdout]).toEqual([0, "", "Loaded image: stacked:1\n"]);
    peer = await startDockerdOnRoot(root);
  }, 180_000);
  afterAll(async () => {
    await peer?.stop();
    await cleanup?.();
  });

  it("docker images lists the imported image with its ID, tags and size", async () => {
    const rows = (await peer!.docker(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"])).stdout
      .toString()
      .trim()
      .split("\n")
      .sort();
    const ours = (await store(["--root", root, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"])).stdout
      .trim()
      .split("\n")
      .sort();
    expect(rows).toEqual(ours);
    const size = ours.find((r) => r.includes(" imported:1 "))!.split(" ")[2];
    expect(rows).toContain(`${id} imported:1 ${size}`);
  });

  it("docker inspect sees the config dockerd's own import would write", async () => {
    const [inspect] = JSON.parse((await peer!.docker(["image", "inspect", "imported:1"])).stdout.toString());
    expect(inspect).toMatchObject({ Id: id, Comment: "Imported from -", Os: "linux", Config: { Cmd: ["sh"], Env: ["GREETING=hello"] } });
    expect(inspect.RootFS.Layers).toHaveLength(1);
    const history = (await peer!.docker(["history", "--format", "{{.Comment}}", "imported:1"])).stdout.toString();
    expect(history).toBe("Imported from -\n");
  });

  it("docker runs the image whose top layer store loaded before its base (stacked afterwards)", async () => {
    const out = await peer!.docker([
      "run",
      "--pull",
      "never",
      "--rm",
      "--network",
      "none",
      "stacked:1",
      "sh",
      "-c",
      "wc -c < /data/big.txt && cat /etc/greeting",
    ]);
    expect(
      out.stdout
        .toString()
        .trim()
        .split("\n")
        .map((l) => l.trim()),
    ).toEqual(["2097152", "imported by store"]);
    const [inspect] = JSON.parse((await peer!.docker(["image", "inspect", "stacked:1"])).stdout.toString());
    expect(inspect.RootFS.Layers).toHaveLength(2);
  });

  it("docker run starts a container from it", async () => {
    const out = await peer!.docker(["run", "--pull", "never", "--rm", "--network", "none", "imported:1", "cat", "/etc/greeting"]);
    expect(out.stdout.toString()).toBe("imported by store\n");
    const env = await peer!.docker(["run", "--pull", "never", "--rm", "--network", "none", "example.com/imported", "sh", "-c", "echo $GREETING"]);
    expect(env.stdout.toString()).toBe("hello\n");
  });
});
