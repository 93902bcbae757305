import { execFileSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** A temp dir removed by the returned cleanup. */
export async function tempDir(prefix = "store-service-"): Promise<{ dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** A tar of `files` (path → content; a trailing "/" makes a directory), written by GNU tar. */
export async function makeTar(files: Record<string, string>): Promise<Buffer> {
  const { dir, cleanup } = await tempDir("store-service-tar-");
  try {
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      if (name.endsWith("/")) await mkdir(path, { recursive: true });
      else {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
      }
    }
    return execFileSync("tar", ["-C", dir, "--numeric-owner", "--sort=name", "-c", "."], { maxBuffer: 64 << 20 });
  } finally {
    await cleanup();
  }
}

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
