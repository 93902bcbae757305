import { chmod, mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { BackendErrorCode } from "@store/backend";
import { expectStoreError, generatedDigest, generatedStream } from "@store/conformance";
import { digestFromBytes, parseDigest } from "@store/digest";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createFsBackend } from "../src/index";
import { tempDir } from "@store/test-support";

const encoder = new TextEncoder();
// moby's image store test vector.
const config = encoder.encode(
  '{"comment": "abc", "rootfs": {"type": "layers", "diff_ids": ["2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae"]}}',
);
const configId = parseDigest("sha256:8d25a9c45df515f9d0fe8e4a6b1c64dd3b965a84790ddbcc7954bb9bc89eb993");

/** Every entry under `dir` with its permission bits, relative to it. */
async function tree(dir: string): Promise<Record<string, string>> {
  const result: Record<string, string> = {};
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    const path = join(entry.parentPath, entry.name);
    const mode = (await stat(path)).mode & 0o777;
    result[relative(dir, path)] = `${entry.isDirectory() ? "d" : "f"}${mode.toString(8)}`;
  }
  return result;
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let root: string;
beforeEach(async () => {
  dir = await tempDir();
  root = join(dir.path, "image", "overlay2", "imagedb");
});
afterEach(() => dir.remove());

describe("dockerd's imagedb layout", () => {
  test("writes content and metadata where dockerd does, dirs 0700 and files 0600, nothing else", async () => {
    const backend = createFsBackend({ root });
    const parent = await backend.set(encoder.encode("parent config"));
    const id = await backend.set(config);
    expect(id.toString()).toBe(configId.toString());
    await backend.setMetadata(id, "parent", encoder.encode(parent.toString()));
    await backend.setMetadata(id, "lastUpdated", encoder.encode("2024-05-06T07:08:09.123456789Z"));
    await backend.setStream([encoder.encode("streamed")]);
    const streamed = digestFromBytes("streamed");

    expect(await tree(root)).toEqual({
      content: "d700",
      "content/sha256": "d700",
      [`content/sha256/${parent.encoded}`]: "f600",
      [`content/sha256/${id.encoded}`]: "f600",
      [`content/sha256/${streamed.encoded}`]: "f600",
      metadata: "d700",
      "metadata/sha256": "d700",
      [`metadata/sha256/${id.encoded}`]: "d700",
      [`metadata/sha256/${id.encoded}/parent`]: "f600",
      [`metadata/sha256/${id.encoded}/lastUpdated`]: "f600",
    });
    expect(await readFile(join(root, "content/sha256", id.encoded))).toEqual(Buffer.from(config));
    expect(await readFile(join(root, "metadata/sha256", id.encoded, "parent"), "utf8")).toBe(parent.toString());
  });

  test("files are 0600 even when an existing one was not", async () => {
    const backend = createFsBackend({ root });
    const id = await backend.set(config);
    const file = join(root, "content/sha256", id.encoded);
    await chmod(file, 0o644);
    await writeFile(file, "tampered");
    await backend.set(config); // heals, through an atomic write
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  test("delete removes the metadata directory, then the content file", async () => {
    const backend = createFsBackend({ root });
    const id = await backend.set(config);
    await backend.setMetadata(id, "parent", encoder.encode("sha256:x"));
    await backend.delete(id);
    expect(await tree(root)).toEqual({ content: "d700", "content/sha256": "d700", metadata: "d700", "metadata/sha256": "d700" });
  });

  test("a directory laid out by dockerd opens and walks as is", async () => {
    // Made by hand exactly as dockerd leaves it, temp-file leftover included.
    const parent = parseDigest(`sha256:${"ab".repeat(32)}`);
    await mkdir(join(root, "content/sha256"), { recursive: true, mode: 0o700 });
    await mkdir(join(root, "metadata/sha256", configId.encoded), { recursive: true, mode: 0o700 });
    await writeFile(join(root, "content/sha256", configId.encoded), config, { mode: 0o600 });
    await writeFile(join(root, "content/sha256/.tmp-foo123"), "half a config", { mode: 0o600 });
    await writeFile(join(root, "metadata/sha256", configId.encoded, "parent"), parent.toString(), { mode: 0o600 });
    await writeFile(join(root, "metadata/sha256", configId.encoded, "lastUpdated"), "2021-03-04T05:06:07.89Z", { mode: 0o600 });
    await writeFile(join(root, "metadata/sha256", configId.encoded, "builtLocally"), new Uint8Array([1]), { mode: 0o600 });

    const backend = createFsBackend({ root });
    const walked: string[] = [];
    await backend.walk((id) => void walked.push(id.toString()));
    expect(walked).toEqual([configId.toString()]);
    expect(Buffer.from(await backend.get(configId))).toEqual(Buffer.from(config));
    expect(new TextDecoder().decode(await backend.getMetadata(configId, "parent"))).toBe(parent.toString());
    expect(new TextDecoder().decode(await backend.getMetadata(configId, "lastUpdated"))).toBe("2021-03-04T05:06:07.89Z");
    expect([...(await backend.getMetadata(configId, "builtLocally"))]).toEqual([1]);
    // The leftover is dockerd's business: neither listed nor removed.
    expect(await readFile(join(root, "content/sha256/.tmp-foo123"), "utf8")).toBe("half a config");
  });

  test("a missing root is an empty store, created on first write", async () => {
    const backend = createFsBackend({ root });
    const walked: string[] = [];
    await backend.walk((id) => void walked.push(id.toString()));
    expect(walked).toEqual([]);
    await expectStoreError(backend.get(configId), BackendErrorCode.NotFound, [configId.toString()]);
    await backend.set(config);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
  });

  test("a root that cannot be written fails with ERR_BACKEND_IO naming the key", async () => {
    await mkdir(dir.path, { recursive: true });
    await writeFile(join(dir.path, "image"), "a file where a directory should be");
    const backend = createFsBackend({ root });
    await expectStoreError(backend.set(config), BackendErrorCode.Io, [`content/sha256/${configId.encoded}`]);
  });
});

describe("a blobs directory beside imagedb, as a local root keeps layer blobs and manifests", () => {
  test("holds streamed blobs under blobs/content in the same layout, and leaves imagedb to configs", async () => {
    const imagedb = createFsBackend({ root });
    const blobsRoot = join(dir.path, "image", "overlay2", "blobs");
    const blobs = createFsBackend({ root: blobsRoot });
    const configId = await imagedb.set(config);
    const shape = { size: (6 << 20) + 5, chunkSize: 1 << 20, seed: 81 };
    const expected = await generatedDigest(shape);
    const blob = await blobs.setStream(generatedStream(shape), { expected: expected.toString(), size: shape.size });
    expect(await blobs.info(blob)).toMatchObject({ digest: expected, size: shape.size });
    expect(Object.keys(await tree(blobsRoot))).toEqual(["content", "content/sha256", `content/sha256/${expected.encoded}`]);
    expect(Object.keys(await tree(root))).toEqual(["content", "content/sha256", `content/sha256/${configId.encoded}`]);
    expect(await imagedb.has(blob)).toBe(false);
  });

  test("create-only writes publish by link and leave one name per file, no temp files", async () => {
    const backend = createFsBackend({ root });
    const id = await backend.set(config);
    await Promise.all(Array.from({ length: 8 }, () => backend.setStream([config], { expected: id })));
    await Promise.all(Array.from({ length: 8 }, () => backend.setStream([config])));
    const file = join(root, "content/sha256", id.encoded);
    expect((await stat(file)).nlink).toBe(1);
    expect(await readdir(join(root, "content/sha256"))).toEqual([id.encoded]);
    expect((await readdir(join(root, "content"))).sort()).toEqual(["sha256"]);
  });
});
