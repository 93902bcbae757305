import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, parseDigest } from "@store/digest";
import { type DockerdPeer, dockerdSkipReason, startDockerd } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createFsBackend } from "../src/index";
import { tempDir } from "@store/test-support";

const skip = dockerdSkipReason();
const decoder = new TextDecoder();

async function imageId(peer: DockerdPeer, ref: string): Promise<Digest> {
  const { stdout } = await peer.docker(["image", "inspect", "--format", "{{.Id}}", ref]);
  return parseDigest(stdout.toString().trim());
}

// The reference: a real dockerd writes an imagedb we read as is, and reads back what we write.
describe.skipIf(skip !== undefined)("against a real dockerd's imagedb", () => {
  let first: DockerdPeer | undefined;
  let second: DockerdPeer | undefined;
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let base: Digest;
  let child: Digest;

  beforeAll(async () => {
    dir = await tempDir("store-dockerd-");
    const rootfs = join(dir.path, "rootfs");
    await mkdir(join(rootfs, "etc"), { recursive: true });
    await writeFile(join(rootfs, "etc", "hello"), "hello from the store\n");
    const tar = execFileSync("tar", ["-C", rootfs, "-c", "."]);
    first = await startDockerd();
    await first.docker(["import", "-", "base:1"], tar);
    // The legacy builder records the parent image in imagedb metadata; LABEL runs nothing.
    await first.docker(["build", "-t", "child:1", "-"], "FROM base:1\nLABEL org.example.store=yes\n", { env: { DOCKER_BUILDKIT: "0" } });
    base = await imageId(first, "base:1");
    child = await imageId(first, "child:1");
  }, 180_000);

  afterAll(async () => {
    await second?.stop();
    await first?.stop();
    await dir?.remove();
  }, 120_000);

  test("walks, verifies and reads the metadata of what dockerd wrote", async () => {
    const backend = createFsBackend({ root: join(first!.root, "image", "overlay2", "imagedb") });
    const ids: string[] = [];
    await backend.walk((id) => void ids.push(id.toString()));
    expect(ids).toEqual([base.toString(), child.toString()].sort());
    const config = JSON.parse(decoder.decode(await backend.get(child))) as { config?: { Labels?: Record<string, string> } };
    expect(config.config?.Labels?.["org.example.store"]).toBe("yes");
    expect(decoder.decode(await backend.getMetadata(child, "parent"))).toBe(base.toString());
    await backend.close();
  });

  test("dockerd restores an image and a parent link that we wrote", { timeout: 180_000 }, async () => {
    // A copy of dockerd's root, so a second dockerd can start on it after we wrote there.
    const root = join(dir.path, "copy");
    await mkdir(root);
    for (const part of ["image", "overlay2"]) execFileSync("cp", ["-a", join(first!.root, part), join(root, part)]);
    const backend = createFsBackend({ root: join(root, "image", "overlay2", "imagedb") });
    const config = JSON.parse(decoder.decode(await backend.get(base))) as Record<string, unknown> & { config?: Record<string, unknown> };
    config.config = { ...config.config, Labels: { "written.by": "@store/backend-fs" } };
    const ours = await backend.set(new TextEncoder().encode(JSON.stringify(config)));
    await backend.setMetadata(ours, "parent", new TextEncoder().encode(base.toString()));
    await backend.close();

    second = await startDockerd({ extraArgs: ["--data-root", root] });
    const { stdout } = await second.docker(["image", "inspect", "--format", '{{.Id}} {{.Parent}} {{index .Config.Labels "written.by"}}', ours.toString()]);
    expect(stdout.toString().trim()).toBe(`${ours} ${base} @store/backend-fs`);
  });
});
