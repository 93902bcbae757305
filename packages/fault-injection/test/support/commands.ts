import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import type { StoreService } from "@store/service";

/** One command of the suite, as plain data, so a child process can run it too. */
export type Command =
  | { command: "load"; archive: string; name: string }
  | { command: "import"; tar: string; tag: string }
  | { command: "rmi"; name: string }
  | { command: "pull"; ref: string };

/** Runs `command` on an open store. */
export async function runCommand(store: StoreService, c: Command): Promise<void> {
  switch (c.command) {
    case "load":
      await store.load([await readFile(c.archive)], { quiet: true });
      return;
    case "import":
      await store.import([await readFile(c.tar)], { tag: c.tag });
      return;
    case "rmi":
      await store.remove(c.name);
      return;
    case "pull":
      await store.pull(c.ref);
      return;
  }
}

/** Whether the command's effect is there: the image (not) resolvable by its name. */
export function done(store: StoreService, c: Command): boolean {
  const name = c.command === "load" || c.command === "rmi" ? c.name : c.command === "import" ? c.tag : c.ref;
  let found = true;
  try {
    store.resolve(name);
  } catch {
    found = false;
  }
  return c.command === "rmi" ? !found : found;
}

/**
 * What is under the root that nothing points at: overlay2 dirs without a layerdb entry (and
 * overlay2's own `multiple-lowers*` probe), layerdb's scratch and `-removing` entries, hidden
 * temp files (`.tmp-*`) anywhere, partial downloads. Not damage (verify finds none of it; the
 * repair reclaims it), but counted and named, with IDs and random suffixes blanked.
 */
export async function leftovers(store: StoreService): Promise<string[]> {
  const out: string[] = [];
  const cacheIds = new Set([...store.layers.map().values()].map((l) => l.cacheId));
  const dirs = await readdir(join(store.root, store.driverName)).catch(() => [] as string[]);
  for (const d of dirs) if (d !== "l" && !cacheIds.has(d) && !d.endsWith("-init")) out.push(`${store.driverName}/${d}`);
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.name.startsWith(".tmp-") || e.name.endsWith("-removing") || rel.endsWith("layerdb/tmp") || rel.endsWith("partial-downloads")) out.push(r);
      else if (e.isDirectory() && r !== store.driverName) await walk(join(dir, e.name), r);
    }
  };
  await walk(store.root, "");
  return out.map((p) =>
    p
      .replace(/[0-9a-f]{64}/g, "<id>")
      .replace(/(multiple-lowers|write-set-)\w+$/, "$1*")
      .replace(/(\.tmp-[^/]*?)[\w-]{6,}$/, "$1*"),
  );
}
