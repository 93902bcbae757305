import { BackendErrorCode, createBackend } from "@store/backend";
import { expectStoreError } from "@store/conformance";
import { describe, expect, test } from "vitest";
import { createMemoryBackend, createMemoryDriver } from "../src/index";

const encoder = new TextEncoder();

describe("createMemoryBackend", () => {
  test("each backend is its own store", async () => {
    const a = createMemoryBackend();
    const b = createMemoryBackend();
    const id = await a.set(encoder.encode("only in a"));
    expect(await b.has(id)).toBe(false);
    await expectStoreError(b.get(id), BackendErrorCode.NotFound, [id.toString()]);
  });

  test("declares itself in memory: named memory, not persistent, create-only writes enforced", () => {
    const backend = createMemoryBackend();
    expect(backend.name).toBe("memory");
    expect(backend.capabilities).toEqual({ persistent: false, shared: false, conditionalCreate: true });
  });

  test("keeps dockerd's layout inside its volume, as the fs backend does on disk", async () => {
    const driver = createMemoryDriver();
    const backend = createBackend(driver);
    const id = await backend.set(encoder.encode("config"));
    await backend.setMetadata(id, "parent", encoder.encode("sha256:x"));
    expect(await driver.listAll("content/sha256")).toEqual([id.encoded]);
    expect(await driver.listAll(`metadata/sha256/${id.encoded}`)).toEqual(["parent"]);
  });
});
