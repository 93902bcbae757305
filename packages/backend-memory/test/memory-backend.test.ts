import { BackendErrorCode } from "@store/backend";
import { expectStoreError } from "@store/conformance";
import { describe, expect, test } from "vitest";
import { createMemoryBackend } from "../src/index";

const encoder = new TextEncoder();

describe("createMemoryBackend", () => {
  test("each backend is its own store", async () => {
    const a = createMemoryBackend();
    const b = createMemoryBackend();
    const id = await a.set(encoder.encode("only in a"));
    expect(await b.has(id)).toBe(false);
    await expectStoreError(b.get(id), BackendErrorCode.NotFound, [id.toString()]);
  });

  test("declares itself in memory: named memory, not persistent", () => {
    const backend = createMemoryBackend();
    expect(backend.name).toBe("memory");
    expect(backend.capabilities).toEqual({ persistent: false, shared: false, conditionalCreate: false });
  });

  test("keeps dockerd's layout inside its volume, as the fs backend does on disk", async () => {
    const backend = createMemoryBackend();
    const id = await backend.set(encoder.encode("config"));
    await backend.setMetadata(id, "parent", encoder.encode("sha256:x"));
    const names = async (prefix: string) => {
      const found: string[] = [];
      for await (const name of backend.driver.list(prefix)) found.push(name);
      return found;
    };
    expect(await names("content/sha256")).toEqual([id.encoded]);
    expect(await names(`metadata/sha256/${id.encoded}`)).toEqual(["parent"]);
  });
});
