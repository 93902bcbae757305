import { readFile, rename, rm, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import type { EntrySpec } from "@store/test-peers";
import { LayerErrorCode, type Layer } from "../src/index";
import { collect, tarBytes, tempStore } from "./helpers";

let t: Awaited<ReturnType<typeof tempStore>>;
beforeEach(async () => {
  t = await tempStore();
});
afterEach(async () => {
  await t.cleanup();
});

// Enough small files for several ~1 MiB chunks read on the reader thread, empty ones, and large
// files streamed on their own between them.
const specs = (): EntrySpec[] => [
  { name: "small/", type: "directory" },
  ...Array.from({ length: 600 }, (_, i) => ({ name: `small/f${i}`, content: String(i % 10).repeat((i * 997) % 6000) })),
  { name: "big/", type: "directory" },
  { name: "big/first", content: new Uint8Array(2.5 * (1 << 20)).fill(1) },
  { name: "big/second", content: new Uint8Array((1 << 20) + 1).fill(2) },
  { name: "tail/last", content: "last\n" },
  { name: "tail/link", type: "symlink", linkname: "last" },
];

async function rebuildError(layer: Layer): Promise<Error> {
  const error = await collect(layer.tarStream()).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isStoreError(error, LayerErrorCode.VerificationFailed), String(error)).toBe(true);
  return error as Error;
}

describe("rebuilding a layer's tar", () => {
  it("gives back the registered tar byte for byte, small files in chunks and large ones streamed", async () => {
    const tar = await tarBytes(specs());
    const { layer } = await t.store.register([tar]);
    const chunks: Uint8Array[] = [];
    for await (const chunk of layer.tarStream()) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(tar)).toBe(true);
    expect(chunks.length).toBeGreaterThan(4);
  });

  it("refuses files that changed size, vanished or became symlinks, naming each, and reads them again once restored", async () => {
    const tar = await tarBytes(specs());
    const { layer } = await t.store.register([tar]);
    const diff = join(t.root, "overlay2", layer.cacheId, "diff");
    const small = join(diff, "small", "f7");
    const original = await readFile(small);

    await writeFile(small, original.subarray(1));
    expect((await rebuildError(layer)).message).toMatch(/file "small\/f7" does not have the recorded \d+ bytes/);
    await writeFile(small, Buffer.concat([original, Buffer.from("x")]));
    expect((await rebuildError(layer)).message).toContain('"small/f7"');
    await writeFile(small, original);

    await rename(small, `${small}.moved`);
    expect((await rebuildError(layer)).message).toMatch(/file "small\/f7" cannot be read: .*ENOENT/);
    // A symlink to the very bytes expected is still not followed.
    await symlink(`${small}.moved`, small);
    expect((await rebuildError(layer)).message).toMatch(/file "small\/f7" cannot be read: .*ELOOP/);
    await rm(small);
    await rename(`${small}.moved`, small);

    const big = join(diff, "big", "first");
    await truncate(big, 1 << 20);
    expect((await rebuildError(layer)).message).toContain('file "big/first" does not have the recorded');
    await writeFile(big, new Uint8Array(2.5 * (1 << 20)).fill(1));

    // A large file streamed on its own is refused the same way when it vanished or became a symlink.
    await rename(big, `${big}.moved`);
    expect((await rebuildError(layer)).message).toMatch(/file "big\/first" cannot be read: .*ENOENT/);
    await symlink(`${big}.moved`, big);
    expect((await rebuildError(layer)).message).toMatch(/file "big\/first" cannot be read: .*ELOOP/);
    await rm(big);
    await rename(`${big}.moved`, big);

    // Nothing was lost: the restored layer rebuilds as registered.
    expect((await collect(layer.tarStream())).equals(tar)).toBe(true);
  });
});
