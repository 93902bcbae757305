import { execFileSync } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { expectStoreError } from "@store/conformance";
import { type DockerdPeer, dockerdSkipReason, startDockerdOnRoot } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { MetadataErrorCode, createFsMetadataStore, update } from "../src/index";
import { tempDir } from "@store/test-support";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Repositories = { Repositories: Record<string, Record<string, string>> };

/** Go's json.Marshal of repositories.json: map keys sorted, no spaces (these names need no escaping). */
function goJson(value: Repositories): string {
  const sorted = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(
      Object.keys(o)
        .sort()
        .map((k) => [k, typeof o[k] === "object" ? sorted(o[k] as Record<string, unknown>) : o[k]]),
    );
  return JSON.stringify(sorted(value as unknown as Record<string, unknown>));
}

describe.skipIf(dockerdSkipReason())("repositories.json shared with dockerd", () => {
  let dir: Awaited<ReturnType<typeof tempDir>>;
  let root: string;
  let peer: DockerdPeer | undefined;
  let imageId: string;

  beforeAll(async () => {
    dir = await tempDir();
    root = join(dir.path, "docker");
    const rootfs = join(dir.path, "rootfs");
    await mkdir(rootfs);
    await writeFile(join(rootfs, "hello"), "hello\n");
    peer = await startDockerdOnRoot(root);
    const tar = execFileSync("tar", ["-C", rootfs, "--numeric-owner", "-c", "."]);
    imageId = (await peer.docker(["import", "-", "base:1"], tar)).stdout.toString().trim();
    await peer.stop();
    peer = undefined;
  });
  afterAll(async () => {
    await peer?.stop();
    await dir?.remove();
  });

  test("the store reads dockerd's file, and dockerd reads the file the store wrote", { timeout: 120_000 }, async () => {
    const store = createFsMetadataStore({ root: join(root, "image", "overlay2") });
    const before = await store.get("repositories.json");
    const theirs = decoder.decode(before!.data);
    expect(JSON.parse(theirs)).toEqual({ Repositories: { base: { "base:1": imageId } } });
    expect(goJson(JSON.parse(theirs) as Repositories)).toBe(theirs);

    const written = await update(store, "repositories.json", (data) => {
      const repositories = JSON.parse(decoder.decode(data)) as Repositories;
      repositories.Repositories.copied = { "copied:latest": imageId };
      return encoder.encode(goJson(repositories));
    });
    const ours = await readFile(join(root, "image", "overlay2", "repositories.json"));
    expect(Buffer.from(ours).equals(Buffer.from(written!.data))).toBe(true);

    peer = await startDockerdOnRoot(root);
    const listed = (await peer.docker(["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}"])).stdout.toString().trim().split("\n").sort();
    const short = imageId.replace("sha256:", "").slice(0, 12);
    expect(listed).toEqual([`base:1 ${short}`, `copied:latest ${short}`]);

    // dockerd rewrites the file on a tag: the version we hold is stale, and the swap refuses.
    await peer.docker(["tag", "base:1", "other:2"]);
    await expectStoreError(store.putIfVersion("repositories.json", encoder.encode("{}"), written!.version), MetadataErrorCode.Conflict, ["repositories.json"]);
    const after = JSON.parse(decoder.decode((await store.get("repositories.json"))!.data)) as Repositories;
    expect(Object.keys(after.Repositories).sort()).toEqual(["base", "copied", "other"]);
    await peer.stop();
    peer = undefined;
  });
});
