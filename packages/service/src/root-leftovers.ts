import { lstat, readFile, readdir, readlink, rm } from "node:fs/promises";
import { basename, join } from "node:path";
import { type Digest, isDigest, parseDigest } from "@store/digest";
import type { DistributionMetadata } from "@store/distribution";
import { directorySize } from "@store/graphdriver";
import type { LayerStore } from "@store/layer";

/** Something under a root that nothing references: reclaimable space, not damage. */
export interface Leftover {
  /**
   * `driver-dir`: a graph driver dir no layerdb entry or mount owns; `distribution`: a
   * distribution record (v2metadata-by-diffid, diffid-by-digest) naming no layer, or unreadable;
   * `partial-download`: a pull's partial blob under `partial-downloads`; `temp`: what a writer
   * killed mid-write leaves (a `.tmp-*` file of an atomic write or a lock, a layerdb
   * `tmp/write-set-*` or `*-removing` dir).
   */
  kind: "driver-dir" | "distribution" | "partial-download" | "temp";
  /** The driver dir's ID, the record's metadata key or the partial file's name. */
  name: string;
  /** Where it is on disk. */
  path: string;
  bytes: number;
  /** Milliseconds since it last changed (its mtime). */
  ageMs: number;
  /** One line saying why nothing references it. */
  why: string;
  /**
   * Why `repair` must keep it though nothing references it: a driver dir while a layerdb entry
   * has a cache-id naming no dir (that entry may be its owner, damaged).
   */
  keep?: string;
}

/** A distribution record that does not parse: damage, reported by `verify` (and removable by repair). */
export interface DistributionProblem {
  key: string;
  message: string;
}

/** Where {@link findLeftovers} looks. */
export interface LeftoverScope {
  /** `<root>/image/<driver>`: layerdb, distribution/, partial-downloads/. */
  imageRoot: string;
  layers: LayerStore;
  distribution: DistributionMetadata;
}

const hex64 = /^[a-f0-9]{64}$/;
const driverDirName = /^[a-f0-9]{64}(-init)?$/;

async function readTrimmed(path: string): Promise<string | undefined> {
  return (await readFile(path, "utf8").catch(() => undefined))?.trim();
}

async function ageAndSize(path: string, now: number, size: () => Promise<number>): Promise<{ ageMs: number; bytes: number } | undefined> {
  const st = await lstat(path).catch(() => undefined);
  if (!st) return undefined;
  return { ageMs: Math.max(0, now - st.mtimeMs), bytes: await size().catch(() => st.size) };
}

/**
 * What layerdb names, read afresh from disk (not from the store's view at open, which another
 * writer may have changed since): every entry's cache-id and diff ID, damaged entries included
 * (their dirs are not leftovers: a load replaces them), and every mount's mount-id and init-id.
 */
async function layerdbNames(layerdb: string, home: string): Promise<{ cacheIds: Set<string>; diffIds: Set<string>; unresolved: string[] }> {
  const cacheIds = new Set<string>();
  const diffIds = new Set<string>();
  const unresolved: string[] = [];
  for (const name of await readdir(join(layerdb, "sha256")).catch(() => [] as string[])) {
    if (!hex64.test(name)) continue;
    const cacheId = await readTrimmed(join(layerdb, "sha256", name, "cache-id"));
    if (cacheId) cacheIds.add(cacheId);
    if (!cacheId || cacheId.includes("/") || !(await lstat(join(home, cacheId)).catch(() => undefined))) unresolved.push(`sha256:${name}`);
    const diff = await readTrimmed(join(layerdb, "sha256", name, "diff"));
    if (diff && isDigest(diff)) diffIds.add(diff);
  }
  for (const name of await readdir(join(layerdb, "mounts")).catch(() => [] as string[])) {
    for (const file of ["mount-id", "init-id"]) {
      const id = await readTrimmed(join(layerdb, "mounts", name, file));
      if (id) cacheIds.add(id);
    }
  }
  return { cacheIds, diffIds, unresolved };
}

/**
 * Driver dirs kept alive through another's `lower` file (overlay2 stacks a layer on its parents'
 * `l/<short>` links): a child whose parent's layerdb entry was replaced still reads the old dir.
 */
async function lowerReferenced(home: string, owned: Set<string>): Promise<void> {
  const byLink = new Map<string, string>();
  for (const link of await readdir(join(home, "l")).catch(() => [] as string[])) {
    const target = await readlink(join(home, "l", link)).catch(() => undefined);
    // `../<id>/diff`
    if (target) byLink.set(link, basename(join(target, "..")));
  }
  const queue = [...owned];
  while (queue.length > 0) {
    const id = queue.pop()!;
    const lower = await readTrimmed(join(home, id, "lower"));
    if (!lower) continue;
    for (const entry of lower.split(":")) {
      const dir = byLink.get(basename(entry));
      if (dir && !owned.has(dir)) {
        owned.add(dir);
        queue.push(dir);
      }
    }
  }
}

/**
 * Everything under a root that nothing references — overlay2 dirs no layerdb entry or mount owns
 * (nor any owned dir stacks on), distribution records naming a diff ID no layer has, partial
 * downloads — with its size and age; and the distribution records that do not parse.
 */
export async function findLeftovers(scope: LeftoverScope, now = Date.now()): Promise<{ leftovers: Leftover[]; problems: DistributionProblem[] }> {
  const { imageRoot, layers, distribution } = scope;
  const leftovers: Leftover[] = [];
  const problems: DistributionProblem[] = [];
  const { cacheIds, diffIds, unresolved } = await layerdbNames(join(imageRoot, "layerdb"), layers.driver.home);

  // Only overlay2's layout is known here (dirs by ID, `l/` links, `lower` files).
  if (layers.driver.name === "overlay2") {
    const home = layers.driver.home;
    const owned = new Set(cacheIds);
    await lowerReferenced(home, owned);
    for (const name of await readdir(home).catch(() => [] as string[])) {
      if (!driverDirName.test(name) || owned.has(name)) continue;
      const path = join(home, name);
      const found = await ageAndSize(path, now, () => directorySize(path));
      if (!found) continue;
      leftovers.push({
        kind: "driver-dir",
        name,
        path,
        ...found,
        why: "no layer or mount owns it",
        // Repair never guesses: a layer whose cache-id names no dir may be this dir's owner.
        ...(unresolved.length > 0
          ? {
              keep: `layer ${unresolved[0]}${unresolved.length > 1 ? ` and ${unresolved.length - 1} more` : ""} names no driver dir in its cache-id and may own it`,
            }
          : {}),
      });
    }
  }

  const base = distribution.prefix === "" ? "" : `${distribution.prefix}/`;
  const record = async (key: string, why: string) => {
    const path = join(imageRoot, key);
    const found = await ageAndSize(path, now, async () => (await lstat(path)).size);
    if (found) leftovers.push({ kind: "distribution", name: key, path, ...found, why });
  };
  const unreadable = (key: string, e: unknown) => {
    const m = (e as Error).message;
    problems.push({ key, message: `distribution record ${m.startsWith(key) ? m : `${key}: ${m}`}` });
  };
  const keyDigest = (key: string): Digest | undefined => {
    const [algorithm, encoded] = key.split("/").slice(-2);
    const text = `${algorithm}:${encoded}`;
    return isDigest(text) ? parseDigest(text) : undefined;
  };
  for (const key of await distribution.store.list(`${base}v2metadata-by-diffid`)) {
    const diffId = keyDigest(key);
    if (!diffId) {
      problems.push({ key, message: `distribution record ${key}: its name is not a digest` });
      await record(key, "its name is not a digest");
      continue;
    }
    try {
      await distribution.getMetadata(diffId);
    } catch (e) {
      unreadable(key, e);
      await record(key, "it does not parse");
      continue;
    }
    if (!diffIds.has(diffId.toString())) await record(key, `no layer has diff ID ${diffId}`);
  }
  for (const key of await distribution.store.list(`${base}diffid-by-digest`)) {
    const blob = keyDigest(key);
    let diffId: Digest | undefined;
    try {
      if (!blob) throw new Error("its name is not a digest");
      diffId = await distribution.getDiffId(blob);
    } catch (e) {
      unreadable(key, e);
      await record(key, "it does not parse");
      continue;
    }
    if (!diffIds.has(diffId.toString())) await record(key, `no layer has diff ID ${diffId}`);
  }

  const partials = join(imageRoot, "partial-downloads");
  for (const name of await readdir(partials).catch(() => [] as string[])) {
    const path = join(partials, name);
    const found = await ageAndSize(path, now, () => directorySize(path).catch(async () => (await lstat(path)).size));
    if (found) leftovers.push({ kind: "partial-download", name, path, ...found, why: "a pull's partial download" });
  }
  await findTemps(imageRoot, layers.driver.home, now, leftovers);
  return { leftovers, problems };
}

// Names of what an interrupted writer leaves: atomic writes' and locks' temp files, layerdb's
// write-sets and removals (see @store/internal atomic-write and file-lock, @store/layer).
const tempFile = /^\.tmp-|\.tmp-\d+-/;

/**
 * The temp files and dirs of writers that did not finish, under the root's top level, the image
 * dir (recursively; imagedb and blobs included) and the driver home's top level (never inside a
 * layer's files, which are the image's own).
 */
async function findTemps(imageRoot: string, driverHome: string | undefined, now: number, out: Leftover[]): Promise<void> {
  const add = async (path: string, why: string) => {
    const found = await ageAndSize(path, now, () => directorySize(path).catch(async () => (await lstat(path)).size));
    if (found) out.push({ kind: "temp", name: basename(path), path, ...found, why });
  };
  const root = join(imageRoot, "..", "..");
  for (const dir of [root, ...(driverHome ? [driverHome] : [])]) {
    for (const name of await readdir(dir).catch(() => [] as string[])) {
      if (tempFile.test(name)) await add(join(dir, name), "a writer stopped before publishing it");
    }
  }
  const walk = async (dir: string, rel: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, e.name);
      const where = rel ? `${rel}/${e.name}` : e.name;
      if (tempFile.test(e.name)) await add(path, "a writer stopped before publishing it");
      else if (rel === "layerdb/tmp" && e.name.startsWith("write-set-")) await add(path, "a layer commit stopped before its rename");
      else if (rel === "layerdb/sha256" && e.name.endsWith("-removing")) await add(path, "a layer removal stopped half way");
      else if (e.isDirectory() && where !== "partial-downloads") await walk(path, where);
    }
  };
  await walk(imageRoot, "");
}

/** What {@link removeLeftovers} removed, and the bytes that freed. */
export interface RepairReport {
  removed: Leftover[];
  /** Left because younger than the grace period (something may still be writing or resuming them), or with a `keep` reason. */
  kept: Leftover[];
  bytes: number;
}

/**
 * Removes the leftovers older than `graceMs` (driver dirs through the driver, records and
 * partial files from disk). The caller holds the root's writer lock.
 */
export async function removeLeftovers(leftovers: readonly Leftover[], graceMs: number, layers: LayerStore): Promise<RepairReport> {
  const removed: Leftover[] = [];
  const kept: Leftover[] = [];
  let bytes = 0;
  for (const l of leftovers) {
    if (l.ageMs < graceMs || l.keep !== undefined) {
      kept.push(l);
      continue;
    }
    if (l.kind === "driver-dir") await layers.driver.remove(l.name);
    else await rm(l.path, { recursive: true, force: true });
    removed.push(l);
    bytes += l.bytes;
  }
  return { removed, kept, bytes };
}
