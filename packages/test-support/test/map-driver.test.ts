import { existsSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { MapDriver, tempDir, withTempDir } from "../src/index";

const bytes = (text: string) => new TextEncoder().encode(text);
async function collect(source: AsyncIterable<Uint8Array> | undefined): Promise<string> {
  const parts: Uint8Array[] = [];
  for await (const chunk of source ?? []) parts.push(chunk);
  return Buffer.concat(parts).toString();
}

describe("MapDriver", () => {
  it("stores objects as their chunks, records calls, and shares a Map to reopen", async () => {
    const objects = new Map<string, Uint8Array[]>();
    const driver = new MapDriver({ objects });
    const staged = await driver.stage(
      (async function* () {
        yield bytes("ab");
        yield bytes("c");
      })(),
      { key: "k/1" },
    );
    await staged.commit("k/1");
    expect(objects.get("k/1")).toHaveLength(2); // no copy into one buffer
    expect(await collect(await new MapDriver({ objects }).readStream("k/1"))).toBe("abc");
    expect(driver.calls).toEqual(["stage k/1", "commit k/1"]);
    const names: string[] = [];
    for await (const n of driver.list("k")) names.push(n);
    expect(names).toEqual(["1"]);
    expect(driver.capabilities).toBeUndefined();
  });

  it("throws a queued failure once, also mid-stream after the first byte", async () => {
    const driver = new MapDriver();
    await driver.write("a", bytes("hello"));
    const eio = new Error("EIO");
    driver.failures.set("read", eio);
    await expect(driver.read("a")).rejects.toBe(eio);
    expect(Buffer.from((await driver.read("a"))!).toString()).toBe("hello");
    driver.failures.set("readStream.next", eio);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const c of (await driver.readStream("a"))!) seen.push(Buffer.from(c).toString());
      })(),
    ).rejects.toBe(eio);
    expect(seen).toEqual(["h"]);
    await driver.close();
    expect(driver.closed).toBe(1);
  });

  it("with faults, publishes partial objects and reads whole ones", async () => {
    const driver = new MapDriver({ faults: { nonAtomicWrites: true, wholeReads: true } });
    const sizes: number[] = [];
    const writing = driver.write("x", bytes("12345678"));
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      sizes.push(driver.bytes("x")?.byteLength ?? 0);
    }
    await writing;
    expect(sizes.some((n) => n > 0 && n < 8)).toBe(true);
    driver.put("y", bytes("whole"));
    expect(await collect(await driver.readStream("y"))).toBe("whole");
  });
});

describe("temp dirs", () => {
  it("are removed afterwards, even when the work throws", async () => {
    const dir = await tempDir("ts-");
    expect(existsSync(dir.path)).toBe(true);
    await dir.remove();
    await dir.remove(); // already gone: no error
    let seen = "";
    await expect(
      withTempDir(async (path) => {
        seen = path;
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(existsSync(seen)).toBe(false);
  });
});
