import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix = "store-service-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export { makeTar } from "@store/test-support";

/** The layer directories the overlay2 driver holds under a root (its `l/` link dir aside). */
export async function layerDirs(root: string): Promise<string[]> {
  return (await readdir(join(root, "overlay2")).catch(() => [] as string[])).filter((n) => n !== "l");
}

/** Collects an async iterable of chunks into one buffer. */
export async function collect(chunks: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const out: Uint8Array[] = [];
  for await (const c of chunks) out.push(c);
  return Buffer.concat(out);
}
