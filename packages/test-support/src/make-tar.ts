import { execFileSync } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { withTempDir } from "./temp-dir";

/**
 * A tar of `files` (path → content; a trailing "/" makes a directory), written by GNU tar with a
 * fixed mtime: the same files give the same bytes (the same diffID) whenever they are made, so
 * two images built a second apart still share their common layers.
 */
export async function makeTar(files: Record<string, string>): Promise<Buffer> {
  return withTempDir(async (dir) => {
    for (const [name, content] of Object.entries(files)) {
      const path = join(dir, name);
      if (name.endsWith("/")) await mkdir(path, { recursive: true });
      else {
        await mkdir(dirname(path), { recursive: true });
        await writeFile(path, content);
      }
    }
    return execFileSync("tar", ["-C", dir, "--numeric-owner", "--sort=name", "--mtime=@1577836800", "-c", "."], { maxBuffer: 64 << 20 });
  }, "store-test-tar-");
}
