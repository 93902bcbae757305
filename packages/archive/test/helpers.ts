import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createFsBackend } from "@store/backend-fs";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import { createImageStore } from "@store/image";
import { createReferenceStore } from "@store/reference";
import { createLayerStore } from "@store/layer";
import type { ArchiveStores } from "../src/index";

export interface TempStores extends ArchiveStores {
  root: string;
  /** Closes the stores and removes the root. */
  cleanup(): Promise<void>;
}

/** A fresh dockerd-style root (overlay2) with image, layer and reference stores on it. */
export async function tempStores(root?: string): Promise<TempStores> {
  const dir = root ?? (await mkdtemp(join(tmpdir(), "archive-stores-")));
  const layers = await createLayerStore({ root: dir, driver: await createOverlay2Driver({ home: join(dir, "overlay2") }) });
  const images = await createImageStore({ backend: createFsBackend({ root: join(dir, "image", "overlay2", "imagedb") }), layers });
  const references = await createReferenceStore({ path: join(dir, "image", "overlay2", "repositories.json") });
  return {
    root: dir,
    images,
    layers,
    references,
    async cleanup() {
      await images.close();
      await layers.close();
      if (!root) await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function collect(source: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of source) out.push(c);
  return Buffer.concat(out);
}

/** A buffer as a stream of chunks of `size` bytes (archives arrive in pieces). */
export async function* chunked(bytes: Uint8Array, size = 64 * 1024): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < bytes.length; i += size) yield bytes.subarray(i, Math.min(bytes.length, i + size));
}
