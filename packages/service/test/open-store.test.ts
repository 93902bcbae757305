import { existsSync } from "node:fs";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { registeredDrivers } from "@store/graphdriver";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { hasRoot } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openStore } from "../src";
import { tempDir } from "./helpers";

describe.skipIf(!hasRoot())("opening a root", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
  });
  afterAll(async () => cleanup?.());

  it("lays a new root out as dockerd's, with overlay2 made by its factory (no registry needed)", async () => {
    const root = join(dir, "new");
    const store = await openStore({ root });
    try {
      expect(registeredDrivers()).toEqual([]);
      expect(store.driverName).toBe("overlay2");
      expect(store.imageRoot).toBe(join(root, "image", "overlay2"));
      expect((await readdir(root)).sort()).toEqual(["image", "overlay2", "store.lock"]);
      expect(store.list()).toEqual([]);
      // The blob store is open, empty, and writes nothing until asked.
      expect(store.blobs.name).toBeTypeOf("string");
      expect(existsSync(join(store.imageRoot, "blobs"))).toBe(false);
    } finally {
      await store.close();
    }
    // Closing gives the writer lock back.
    expect(await readdir(root)).not.toContain("store.lock");
  });

  it("takes a driver as a factory or an instance", async () => {
    const root = join(dir, "factory");
    const byFactory = await openStore({ root, driver: { name: "overlay2", factory: createOverlay2Driver } });
    await byFactory.close();
    const driver = await createOverlay2Driver({ home: join(root, "overlay2") });
    const byInstance = await openStore({ root, driver, access: "read" });
    expect(byInstance.layers.driver).toBe(driver);
    await byInstance.close();
  });

  it("refuses a root that does not exist when asked not to create one, creating nothing", async () => {
    const missing = join(dir, "no", "such", "root");
    const error = await openStore({ root: missing, create: false, access: "read" }).catch((e: unknown) => e);
    expect(isStoreError(error, "ERR_SERVICE_NO_STORE")).toBe(true);
    expect((error as { kind: string }).kind).toBe("notFound");
    expect((error as Error).message).toBe(`no store at ${missing}: it does not exist (load or import an image to create one)`);
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it("opened read-only, takes no lock and refuses every write with a clear error", async () => {
    const root = join(dir, "ro");
    await (await openStore({ root })).close();
    const writer = await openStore({ root });
    const reader = await openStore({ root, access: "read" }); // readers need no turn
    try {
      for (const attempt of [
        () => reader.import([new Uint8Array(1024)]),
        () => reader.load([new Uint8Array(1024)]),
        () => reader.tag("x", "y"),
        () => reader.remove("x"),
        () => reader.prune(),
        () => reader.mount("x"),
        () => reader.unmount("x"),
      ]) {
        const error = await attempt().catch((e: unknown) => e);
        expect(isStoreError(error, "ERR_SERVICE_READ_ONLY"), String(error)).toBe(true);
      }
    } finally {
      await reader.close();
      await writer.close();
    }
  });

  it("lets one writer at a time hold a root: the next waits, is told so, and can give up", async () => {
    const root = join(dir, "locked");
    const first = await openStore({ root });
    let told: number | undefined;
    const second = openStore({ root, onLockWait: (owner) => (told = owner) });
    await new Promise((r) => setTimeout(r, 100));
    expect(told).toBe(process.pid);
    const timedOut = await openStore({ root, lockTimeoutMs: 50 }).catch((e: unknown) => e);
    expect(isStoreError(timedOut, "ERR_INTERNAL_LOCKED")).toBe(true);
    const controller = new AbortController();
    const aborted = openStore({ root, signal: controller.signal });
    controller.abort("SIGINT");
    await expect(aborted).rejects.toBe("SIGINT");
    await first.close();
    await (await second).close();
    expect(await readdir(root)).not.toContain("store.lock");
  });

  it("a stale lock left by a dead process is taken over", async () => {
    const root = join(dir, "stale");
    await (await openStore({ root })).close();
    await writeFile(join(root, "store.lock"), "999999999\n");
    const store = await openStore({ root, lockTimeoutMs: 1000 });
    await store.close();
  });

  it("an S3 backend without a bucket is a clear error, and the lock is given back", async () => {
    const root = join(dir, "s3");
    const error = await openStore({ root, backend: "s3" }).catch((e: unknown) => e);
    expect(isStoreError(error, "ERR_SERVICE_S3_BUCKET")).toBe(true);
    expect((error as { kind: string }).kind).toBe("invalid");
    expect(await readdir(root)).not.toContain("store.lock");
  });

  it("an unknown storage driver is a clear error that names it, and leaves no image/<name> behind", async () => {
    const root = join(dir, "unknown-driver");
    const error = await openStore({ root, driver: "foo" }).catch((e: unknown) => e);
    expect(isStoreError(error, "ERR_GRAPHDRIVER_NOT_FOUND")).toBe(true);
    expect((error as Error).message).toBe('unknown storage driver "foo": this store supports overlay2');
    expect(existsSync(join(root, "image", "foo"))).toBe(false);
    expect(await readdir(root)).not.toContain("store.lock");
  });
});
