import { spawn } from "node:child_process";
import { mkdir, readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { expectStoreError } from "@store/conformance";
import { afterEach, beforeEach, describe, expect, test } from "vitest";
import { MetadataErrorCode, createFsMetadataStore, update } from "../src/index";
import { bundleFixture, tempDir } from "@store/test-support";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

let dir: Awaited<ReturnType<typeof tempDir>>;
let root: string;
beforeEach(async () => {
  dir = await tempDir();
  root = join(dir.path, "image", "overlay2");
});
afterEach(() => dir.remove());

/** Every file under `root`, relative to it. */
async function files(at: string): Promise<string[]> {
  const entries = await readdir(at, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(at, join(e.parentPath, e.name)))
    .sort();
}

/** Runs `fn` to its end in a child process and returns its exit code. */
function run(command: string, args: string[]): Promise<number | null> {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve) => child.once("exit", (code) => resolve(code)));
}

/** A PID that belonged to a process that has exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await new Promise((r) => child.once("exit", r));
  return child.pid!;
}

describe("fs metadata store", () => {
  test("writes the bytes as given, mode 0600, and leaves no temp or lock file", async () => {
    const store = createFsMetadataStore({ root });
    const json = encoder.encode(`{"Repositories":{"busybox":{"busybox:latest":"sha256:${"a".repeat(64)}"}}}`);
    const v1 = await store.putIfAbsent("repositories.json", json);
    expect(Buffer.from(await readFile(join(root, "repositories.json"))).equals(Buffer.from(json))).toBe(true);
    expect((await stat(join(root, "repositories.json"))).mode & 0o777).toBe(0o600);
    expect((await stat(root)).mode & 0o777).toBe(0o700);
    await store.putIfVersion("repositories.json", encoder.encode("{}"), v1);
    await store.putIfAbsent("distribution/diffid-by-digest/sha256/abc", encoder.encode("sha256:def"));
    expect(await files(root)).toEqual(["distribution/diffid-by-digest/sha256/abc", "repositories.json"]);
    expect(await readFile(join(root, "repositories.json"), "utf8")).toBe("{}");
  });

  test("modes per key and per directory, as dockerd writes one root's files with several", async () => {
    const store = createFsMetadataStore({
      root,
      fileMode: (key) => (key === "repositories.json" ? 0o600 : 0o644),
      dirMode: (dir) => (dir.includes("/") ? 0o755 : 0o700),
    });
    await store.putIfAbsent("repositories.json", encoder.encode("{}"));
    await store.putIfAbsent("distribution/diffid-by-digest/sha256/abc", encoder.encode("sha256:def"));
    const mode = async (path: string) => (await stat(join(root, path))).mode & 0o777;
    expect(await mode("")).toBe(0o700);
    expect(await mode("repositories.json")).toBe(0o600);
    expect(await mode("distribution")).toBe(0o700);
    expect(await mode("distribution/diffid-by-digest")).toBe(0o755);
    expect(await mode("distribution/diffid-by-digest/sha256")).toBe(0o755);
    expect(await mode("distribution/diffid-by-digest/sha256/abc")).toBe(0o644);
  });

  test("a file someone else wrote is a record, and its version is the digest of its bytes", async () => {
    await mkdir(root, { recursive: true });
    await writeFile(join(root, "repositories.json"), '{"Repositories":{}}');
    const store = createFsMetadataStore({ root });
    const record = await store.get("repositories.json");
    expect(decoder.decode(record!.data)).toBe('{"Repositories":{}}');
    expect(record!.version).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Rewritten behind the store's back: the old version no longer swaps.
    await writeFile(join(root, "repositories.json"), '{"Repositories":{"x":{}}}');
    await expectStoreError(store.putIfVersion("repositories.json", encoder.encode("lost"), record!.version), MetadataErrorCode.Conflict, ["repositories.json"]);
    expect(await readFile(join(root, "repositories.json"), "utf8")).toBe('{"Repositories":{"x":{}}}');
  });

  test("list skips temp files, lock files, dot files and names no key could have", async () => {
    const store = createFsMetadataStore({ root });
    await store.putIfAbsent("tags/a", encoder.encode("a"));
    for (const stray of [".tmp-a123", "a.lock", ".hidden", "with space"]) await writeFile(join(root, "tags", stray), "x");
    expect(await store.list("")).toEqual(["tags/a"]);
    expect(await store.list("tags")).toEqual(["tags/a"]);
  });

  test("processes racing updates of one counter lose no increment", { timeout: 120_000 }, async () => {
    const script = join(dir.path, "counter-worker.mjs");
    await bundleFixture(new URL("./fixtures/counter-worker.ts", import.meta.url), script);
    const store = createFsMetadataStore({ root });
    const children = Array.from({ length: 4 }, () => run(process.execPath, [script, root, "counter", "25"]));
    // This process races them too, through its own store.
    for (let i = 0; i < 25; i++) {
      await update(store, "counter", (data) => encoder.encode(String(Number(data ? decoder.decode(data) : "0") + 1)), { retries: 10_000 });
    }
    expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
    expect(decoder.decode((await store.get("counter"))!.data)).toBe("125");
    expect(await files(root)).toEqual(["counter"]);
  });

  test("a lock left by a dead process is taken over", async () => {
    const store = createFsMetadataStore({ root, lockTimeoutMs: 5_000 });
    const v1 = await store.putIfAbsent("repositories.json", encoder.encode("one"));
    await writeFile(join(root, "repositories.json.lock"), `${await deadPid()}\n`);
    await store.putIfVersion("repositories.json", encoder.encode("two"), v1);
    expect(await readFile(join(root, "repositories.json"), "utf8")).toBe("two");
    expect(await files(root)).toEqual(["repositories.json"]);
  });

  test("a live process's lock makes writers wait, then fail with ERR_METADATA_LOCKED naming it; nothing is lost", async () => {
    const store = createFsMetadataStore({ root, lockTimeoutMs: 300 });
    const v1 = await store.putIfAbsent("repositories.json", encoder.encode("one"));
    const holder = spawn("sleep", ["30"], { stdio: "ignore" });
    try {
      await writeFile(join(root, "repositories.json.lock"), `${holder.pid}\n`);
      const error = await expectStoreError(store.putIfVersion("repositories.json", encoder.encode("two"), v1), MetadataErrorCode.Locked, [
        "repositories.json.lock",
        String(holder.pid),
      ]);
      expect((error as { kind?: string }).kind).toBe("conflict");
      // Readers never wait for a lock.
      expect(decoder.decode((await store.get("repositories.json"))!.data)).toBe("one");
    } finally {
      holder.kill("SIGKILL");
      await new Promise((r) => holder.once("exit", r));
    }
    // Its holder gone, the next write takes the lock over.
    await store.putIfVersion("repositories.json", encoder.encode("two"), v1);
    expect(await readFile(join(root, "repositories.json"), "utf8")).toBe("two");
  });

  test("writes on a root that cannot be created fail with ERR_METADATA_IO naming the key, and nothing is written", async () => {
    await writeFile(join(dir.path, "image"), "a file where the directory should be");
    const store = createFsMetadataStore({ root });
    await expectStoreError(store.putIfAbsent("repositories.json", encoder.encode("x")), MetadataErrorCode.Io, ["repositories.json"]);
    expect(await store.get("repositories.json")).toBeUndefined();
    expect(await store.list("")).toEqual([]);
  });
});
