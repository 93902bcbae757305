import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type StageHint, type StagedWrite, createBackend } from "@store/backend";
import { backendHooks, concurrencyCases, defaultBackendSuiteOptions, runCases, streamCases } from "@store/conformance";
import { describe, expect, test } from "vitest";
import { FsDriver } from "../src/index";
import { tempDir } from "@store/test-support";

// Drivers broken in ways only a disk shows: the suite's cases must fail them.

/** Buffers the whole stream in memory before writing it. */
class BufferingFsDriver extends FsDriver {
  override async stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    const chunks: Uint8Array[] = [];
    for await (const chunk of source) chunks.push(chunk);
    return super.stage([Buffer.concat(chunks)] as unknown as AsyncIterable<Uint8Array>, hint);
  }
}

/** Writes files in place, as a naive writeFile does. */
class InPlaceFsDriver extends FsDriver {
  override async write(key: string, data: Uint8Array): Promise<boolean> {
    await mkdir(dirname(this.path(key)), { recursive: true });
    await writeFile(this.path(key), data);
    return true;
  }
}

function hooksFor(Driver: typeof FsDriver) {
  return backendHooks(async () => {
    const dir = await tempDir();
    return { backend: createBackend(new Driver({ root: join(dir.path, "imagedb") })), cleanup: dir.remove };
  });
}

describe("the suite fails broken fs drivers", () => {
  test("a stage that buffers the whole stream", { timeout: 120_000 }, async () => {
    const large = streamCases.filter((c) => c.name.includes("without holding it whole"));
    expect(large).toHaveLength(1);
    const [result] = await runCases(large, hooksFor(BufferingFsDriver), defaultBackendSuiteOptions);
    expect(result!.status).toBe("failed");
    expect(String(result!.error)).toContain("while streaming");
  });

  test("writes in place instead of an atomic rename", { timeout: 60_000 }, async () => {
    const racing = concurrencyCases.filter((c) => c.name.includes("racing set never"));
    expect(racing).toHaveLength(1);
    // A race: a reader catches the half-written file nearly always, but give it a few tries.
    const results = await runCases([...racing, ...racing, ...racing, ...racing, ...racing], hooksFor(InPlaceFsDriver), defaultBackendSuiteOptions);
    expect(results.map((r) => r.status)).toContain("failed");
  });
});
