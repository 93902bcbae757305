import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { join, relative } from "node:path";
import { BackendErrorCode } from "@store/backend";
import { expectStoreError, generatedStream } from "@store/conformance";
import { digestFromBytes } from "@store/digest";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { createFsBackend } from "../src/index";
import { bundleFixture, tempDir } from "@store/test-support";

const encoder = new TextEncoder();

/** Every file under `dir`, relative to it. */
async function files(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)))
    .sort();
}

/** What a crash may leave: dockerd's content and metadata files, and `.tmp-*` files only. */
function isLeftover(path: string): boolean {
  return path.split("/").at(-1)!.startsWith(".tmp-");
}

let dir: Awaited<ReturnType<typeof tempDir>>;
let root: string;
beforeEach(async () => {
  dir = await tempDir();
  root = join(dir.path, "imagedb");
});
afterEach(() => dir.remove());

describe("a crash mid-write leaves the store as it was", () => {
  test("a stage whose source throws halfway leaves nothing behind", async () => {
    const backend = createFsBackend({ root });
    const kept = await backend.set(encoder.encode("kept"));
    const before = await files(root);
    async function* halfway() {
      yield* generatedStream({ size: 4 << 20, chunkSize: 256 * 1024 });
      throw new Error("source failed halfway");
    }
    const expected = digestFromBytes(encoder.encode("never finished"));
    await expectStoreError(backend.setStream(halfway()), BackendErrorCode.Io, ["source failed halfway"]);
    await expectStoreError(backend.setStream(halfway(), { expected }), BackendErrorCode.Io, ["source failed halfway"]);
    // The temp file was unlinked, not just left unpublished.
    expect(await files(root)).toEqual(before);
    expect(await backend.has(expected)).toBe(false);
    expect(new TextDecoder().decode(await backend.get(kept))).toBe("kept");
  });

  test("kill -9 of a process writing a large stream and rewriting metadata", { timeout: 60_000 }, async () => {
    const backend = createFsBackend({ root });
    const ids = [await backend.set(encoder.encode("first")), await backend.set(encoder.encode("second"))];
    await backend.setMetadata(ids[0]!, "lastUpdated", encoder.encode("A"));
    await backend.close();

    // The child runs the real driver: bundled from the TypeScript sources, as Node 20 cannot run them.
    const script = join(dir.path, "crash-writer.mjs");
    await bundleFixture(new URL("./fixtures/crash-writer.ts", import.meta.url), script);
    const child = spawn(process.execPath, [script, root, ids[0]!.toString()], { stdio: ["ignore", "pipe", "inherit"] });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once("exit", (_code, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on("data", (data: Buffer) => {
        if (data.toString().includes("staging")) resolve();
      });
      child.once("exit", (code) => reject(new Error(`writer exited early with ${code}`)));
    });
    child.kill("SIGKILL");
    expect(await exited).toBe("SIGKILL");

    const after = await files(root);
    const published = after.filter((path) => !isLeftover(path));
    expect(published).toEqual([...ids.map((id) => `content/sha256/${id.encoded}`), `metadata/sha256/${ids[0]!.encoded}/lastUpdated`].sort());
    expect(after.some(isLeftover)).toBe(true); // the large stream's temp file, at least

    const reopened = createFsBackend({ root });
    const walked: string[] = [];
    await reopened.walk((id) => void walked.push(id.toString()));
    expect(walked).toEqual(ids.map((id) => id.toString()).sort());
    for (const id of ids) await reopened.get(id);
    const lastUpdated = new TextDecoder().decode(await reopened.getMetadata(ids[0]!, "lastUpdated"));
    expect(["A", "B".repeat(100_000)]).toContain(lastUpdated);
    await reopened.close();
  });
});
