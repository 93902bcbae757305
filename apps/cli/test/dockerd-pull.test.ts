import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import {
  type DockerdPeer,
  type RegistryPeer,
  buildImage,
  busyboxSkipReason,
  dockerdSkipReason,
  importBusyboxBase,
  registrySkipReason,
  startDockerd,
  startDockerdOnRoot,
  startRegistry,
} from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { store, tempDir } from "./helpers";

const skip = dockerdSkipReason() ?? busyboxSkipReason() ?? registrySkipReason();

/** Every file of a distribution metadata directory with its content, for comparing two roots. */
async function distributionFiles(root: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const base = join(root, "image/overlay2/distribution");
  for (const ns of await readdir(base).catch(() => [] as string[])) {
    for (const hex of await readdir(join(base, ns, "sha256")).catch(() => [] as string[])) {
      out[`${ns}/${hex}`] = await readFile(join(base, ns, "sha256", hex), "utf8");
    }
  }
  return out;
}

// `store pull` against `docker pull` of the same image from one registry: the same image ID,
// layers, RepoDigests and distribution metadata; and dockerd runs and pushes what we pulled.
describe.skipIf(skip)("store pull beside docker pull", () => {
  let peer: DockerdPeer;
  let registry: RegistryPeer;
  let dir: string;
  let cleanup: () => Promise<void>;
  let ref: string;

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    registry = await startRegistry();
    peer = await startDockerd();
    await importBusyboxBase(peer, "base:1");
    await buildImage(peer, "app:1", 'FROM base:1\nRUN echo hello > /hello && mkdir -p /data && echo x > /data/x\nCMD ["cat", "/hello"]\n');
    ref = `${registry.host}/team/app:1`;
    await peer.docker(["tag", "app:1", ref]);
    await peer.docker(["push", ref]);
    await peer.docker(["rmi", "app:1", ref, "base:1"]);
    await peer.docker(["pull", ref]);
  }, 300_000);
  afterAll(async () => {
    await peer?.stop();
    await registry?.stop();
    await cleanup?.();
  });

  it("records what docker pull records, and dockerd runs and pushes the image store pull brought", async () => {
    const root = join(dir, "root");
    const pulled = await store(["--root", root, "pull", ref]);
    expect(pulled.stderr).toBe("");
    expect(pulled.code).toBe(0);
    const lines = pulled.stdout.trimEnd().split("\n");
    expect(lines[0]).toBe("1: Pulling from team/app");
    expect(lines.at(-1)).toBe(ref);
    expect(lines.at(-2)).toBe(`Status: Downloaded newer image for ${ref}`);
    const theirs = JSON.parse((await peer.docker(["image", "inspect", ref])).stdout.toString())[0];
    const ours = JSON.parse((await store(["--root", root, "inspect", ref])).stdout)[0];
    expect(ours.Id).toBe(theirs.Id);
    expect(ours.RepoDigests).toEqual(theirs.RepoDigests);
    expect(ours.RepoTags).toEqual(theirs.RepoTags);
    expect(ours.RootFS).toEqual(theirs.RootFS);
    // dockerd's root also holds what its own push recorded (entries with an HMAC); its pull
    // wrote the same entries ours did.
    const pulledOnly = Object.fromEntries(
      Object.entries(await distributionFiles(peer.root)).map(([key, text]) => [
        key,
        key.startsWith("v2metadata-by-diffid/") ? JSON.stringify((JSON.parse(text) as { HMAC: string }[]).filter((m) => m.HMAC === "")) : text,
      ]),
    );
    expect(await distributionFiles(root)).toEqual(pulledOnly);

    const quiet = await store(["--root", root, "pull", "-q", ref]);
    expect(quiet.stdout).toBe(`${ref}\n`);

    const other = await startDockerdOnRoot(root);
    try {
      const run = await other.docker(["run", "--pull", "never", "--rm", "--network", "none", ref]);
      expect(run.stdout.toString()).toBe("hello\n");
      const copy = `${registry.host}/copy/app:1`;
      await other.docker(["tag", ref, copy]);
      const push = (await other.docker(["push", copy])).stdout.toString();
      expect(push).toContain("Mounted from team/app");
    } finally {
      await other.stop();
    }
  });

  it("pushes what docker pulls back: an imported image pushed by store runs under docker", async () => {
    const root = join(dir, "push-root");
    const tarball = await import("@store/test-support").then((m) => m.makeTar({ "hello.txt": "from store push\n" }));
    const imported = await store(["--root", root, "import", "-", `${registry.host}/mine/data:1`], { stdin: tarball });
    expect(imported.code, imported.stderr).toBe(0);
    const pushed = await store(["--root", root, "push", `${registry.host}/mine/data:1`]);
    expect(pushed.stderr).toBe("");
    expect(pushed.code).toBe(0);
    expect(pushed.stdout).toMatch(/^The push refers to repository \[127\.0\.0\.1:\d+\/mine\/data\]$/m);
    expect(pushed.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
    await peer.docker(["pull", `${registry.host}/mine/data:1`]);
    const ours = JSON.parse((await store(["--root", root, "inspect", `${registry.host}/mine/data:1`])).stdout)[0];
    const theirs = JSON.parse((await peer.docker(["image", "inspect", `${registry.host}/mine/data:1`])).stdout.toString())[0];
    expect(theirs.Id).toBe(ours.Id);
    expect(theirs.RepoDigests).toEqual(ours.RepoDigests);
  });
});
