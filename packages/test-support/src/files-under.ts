import { readdir } from "node:fs/promises";
import { join } from "node:path";

/**
 * Every file under `dir` (paths relative to it), sorted: a root's contents, to compare before and
 * after a command that must leave it as it was. Directories are left out: the empty ones a store
 * makes on first use (overlay2/l, layerdb/sha256) stay, as dockerd's do, and hold nothing.
 */
export async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) await walk(join(d, e.name), r);
      else out.push(r);
    }
  };
  await walk(dir, "");
  return out.sort();
}
