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
 * What is under the root that nothing points at: overlay2 dirs without a layerdb entry, and
 * layerdb's own scratch entries. Not damage (verify would call it reclaimable) but counted.
 */
export async function leftovers(store: StoreService): Promise<string[]> {
  const out: string[] = [];
  const cacheIds = new Set([...store.layers.map().values()].map((l) => l.cacheId));
  const dirs = await readdir(join(store.root, store.driverName)).catch(() => [] as string[]);
  for (const d of dirs) if (d !== "l" && !cacheIds.has(d) && !d.endsWith("-init")) out.push(`${store.driverName}/${d}`);
  const tmp = await readdir(join(store.imageRoot, "layerdb", "tmp")).catch(() => [] as string[]);
  for (const t of tmp) out.push(`layerdb/tmp/${t}`);
  return out;
}
