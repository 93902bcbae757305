import { randomBytes } from "node:crypto";
import { lstat, mkdir, mkdtemp, readFile, readdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import { type Digest, parseDigest } from "@store/digest";
import { isStoreError, systemErrorCode } from "@store/errors";
import { isSafeName, syncDirectory, writeFileSynced } from "@store/internal";
import { LayerError, LayerErrorCode } from "./errors";
import type { LayerMetadataStore, LayerRecord, MountRecord } from "./metadata-store";

const hex64 = /^[a-f0-9]{64}$/;

async function readTrimmed(path: string): Promise<string | undefined> {
  try {
    return (await readFile(path, "utf8")).trim();
  } catch (e) {
    if (systemErrorCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** Leftovers of interrupted writes younger than this may belong to a writer still at work. */
const STALE_AFTER_MS = 10 * 60 * 1000;

/**
 * Throws ERR_LAYER_INVALID_NAME unless `name` can name a mount (`mounts/<name>`): one path
 * component of letters, digits, `.`, `_` and `-`, not starting with `.` or `-`, at most 255.
 */
export function assertMountName(name: string): void {
  if (!isSafeName(name)) {
    throw new LayerError(
      LayerErrorCode.InvalidName,
      `invalid mount name ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-', not starting with '.' or '-' (at most 255)`,
      {
        details: { name },
      },
    );
  }
}

/**
 * dockerd's layerdb on disk (moby layer/filestore.go): `sha256/<chainID hex>/{diff,size,cache-id,
 * parent,tar-split.json.gz}` and `mounts/<name>/{mount-id,init-id,parent}`. A layer is written into
 * `tmp/write-set-*`, fsynced, and renamed into place, so a crash never leaves half a layer; removal
 * renames to `<hex>-<random>-removing` first, so a crash never leaves half a removal visible.
 */
export function createFsLayerMetadataStore({ root, staleAfterMs = STALE_AFTER_MS }: { root: string; staleAfterMs?: number }): LayerMetadataStore {
  const layersDir = join(root, "sha256");
  const mountsDir = join(root, "mounts");
  const tmpDir = join(root, "tmp");
  const layerDir = (chainId: Digest) => join(layersDir, chainId.encoded);

  const corrupt = (chainId: Digest, file: string, why: string, cause?: unknown) =>
    new LayerError(LayerErrorCode.CorruptMetadata, `layer ${chainId}: ${join(layerDir(chainId), file)}: ${why}`, {
      cause,
      details: { chainId: chainId.toString(), file: join(layerDir(chainId), file) },
    });

  function digestFile(chainId: Digest, file: string, text: string): Digest {
    try {
      return parseDigest(text);
    } catch (e) {
      throw corrupt(chainId, file, isStoreError(e) ? e.message : "not a digest", e);
    }
  }

  async function removeLayer(chainId: Digest): Promise<void> {
    const dir = layerDir(chainId);
    const doomed = `${dir}-${randomBytes(32).toString("hex")}-removing`;
    try {
      await rename(dir, doomed);
    } catch (e) {
      if (systemErrorCode(e) === "ENOENT") return;
      throw e;
    }
    await rm(doomed, { recursive: true, force: true });
  }

  return {
    async list() {
      const layers: Digest[] = [];
      for (const name of await readdir(layersDir).catch(() => [] as string[])) {
        if (hex64.test(name)) layers.push(parseDigest(`sha256:${name}`));
      }
      const mounts = (await readdir(mountsDir).catch(() => [] as string[])).filter((n) => isSafeName(n));
      return { layers, mounts };
    },

    async get(chainId) {
      const dir = layerDir(chainId);
      const diff = await readTrimmed(join(dir, "diff"));
      if (diff === undefined) return undefined;
      const sizeText = await readTrimmed(join(dir, "size"));
      const cacheId = await readTrimmed(join(dir, "cache-id"));
      const parentText = await readTrimmed(join(dir, "parent"));
      if (sizeText === undefined || !/^\d+$/.test(sizeText)) throw corrupt(chainId, "size", `not a size: ${JSON.stringify(sizeText)}`);
      if (!cacheId || cacheId.includes("/") || cacheId.startsWith(".")) throw corrupt(chainId, "cache-id", `not a cache id: ${JSON.stringify(cacheId)}`);
      const record: LayerRecord = { diffId: digestFile(chainId, "diff", diff), size: Number(sizeText), cacheId };
      if (parentText) record.parent = digestFile(chainId, "parent", parentText);
      return record;
    },

    async getTarSplit(chainId) {
      try {
        return await readFile(join(layerDir(chainId), "tar-split.json.gz"));
      } catch (e) {
        if (systemErrorCode(e) === "ENOENT") {
          throw new LayerError(LayerErrorCode.NotFound, `layer ${chainId}: no tar-split.json.gz`, {
            details: { chainId: chainId.toString() },
          });
        }
        throw e;
      }
    },

    async put(chainId, record, tarSplitGz) {
      await mkdir(tmpDir, { recursive: true, mode: 0o700 });
      const staging = await mkdtemp(join(tmpDir, "write-set-"));
      try {
        // All at once, so their fsyncs can share a journal commit instead of forcing one each:
        // during a pull every commit also carries the thousands of inodes the other layers'
        // extractions created meanwhile.
        const files: [string, Uint8Array | string][] = [
          ["diff", record.diffId.toString()],
          ["size", String(record.size)],
          ["cache-id", record.cacheId],
          ...(record.parent ? [["parent", record.parent.toString()] as [string, string]] : []),
          ["tar-split.json.gz", tarSplitGz],
        ];
        // Settled, not raced: a failed one must not let the staging dir be removed under the others.
        const written = await Promise.allSettled(files.map(([name, data]) => writeFileSynced(join(staging, name), data, 0o644)));
        for (const result of written) if (result.status === "rejected") throw result.reason;
        await syncDirectory(staging);
        await mkdir(layersDir, { recursive: true, mode: 0o755 });
        try {
          await rename(staging, layerDir(chainId));
        } catch (e) {
          // Another writer committed the same chain ID first: same content, keep theirs.
          if (systemErrorCode(e) !== "ENOTEMPTY" && systemErrorCode(e) !== "EEXIST") throw e;
          await rm(staging, { recursive: true, force: true });
          return;
        }
        // dockerd does not fsync the parent; we do, so a crash after the rename keeps the layer.
        // When that fsync fails the caller is told the put failed and removes the layer's files:
        // the entry must go too, or it would name a driver dir that no longer exists.
        await syncDirectory(layersDir).catch(async (e: unknown) => {
          await removeLayer(chainId).catch(() => undefined);
          throw e;
        });
      } catch (e) {
        await rm(staging, { recursive: true, force: true });
        throw e;
      }
    },

    remove: removeLayer,

    async getMount(name) {
      assertMountName(name);
      const dir = join(mountsDir, name);
      const mountId = await readTrimmed(join(dir, "mount-id"));
      if (mountId === undefined) return undefined;
      const record: MountRecord = { mountId };
      const initId = await readTrimmed(join(dir, "init-id"));
      if (initId) record.initId = initId;
      const parent = await readTrimmed(join(dir, "parent"));
      if (parent) record.parent = parseDigest(parent);
      return record;
    },

    async putMount(name, record) {
      assertMountName(name);
      const dir = join(mountsDir, name);
      await mkdir(dir, { recursive: true, mode: 0o755 });
      const files: Array<[string, string | undefined]> = [
        ["init-id", record.initId],
        ["parent", record.parent?.toString()],
        // mount-id last: its presence is what marks the mount as recorded.
        ["mount-id", record.mountId],
      ];
      for (const [file, value] of files) {
        if (value === undefined) continue;
        const tmp = join(dir, `.tmp-${file}-${randomBytes(6).toString("hex")}`);
        await writeFileSynced(tmp, value, 0o644);
        await rename(tmp, join(dir, file));
      }
      await syncDirectory(dir);
    },

    async removeMount(name) {
      assertMountName(name);
      await rm(join(mountsDir, name), { recursive: true, force: true });
    },

    async cleanup() {
      // Only what is old enough to be a crash's leftover: the same root may be in use right now
      // by dockerd or another store process, whose write-set of a second ago is not ours to take.
      const removeIfStale = async (path: string) => {
        const st = await lstat(path).catch(() => undefined);
        // Best effort: a read-only root (a snapshot) still opens, its leftovers left alone.
        if (st && Date.now() - st.mtimeMs >= staleAfterMs) await rm(path, { recursive: true, force: true }).catch(() => undefined);
      };
      for (const name of await readdir(tmpDir).catch(() => [] as string[])) await removeIfStale(join(tmpDir, name));
      for (const name of await readdir(layersDir).catch(() => [] as string[])) {
        if (name.endsWith("-removing")) await removeIfStale(join(layersDir, name));
      }
      for (const name of await readdir(mountsDir).catch(() => [] as string[])) {
        for (const file of await readdir(join(mountsDir, name)).catch(() => [] as string[])) {
          if (file.startsWith(".tmp-")) await removeIfStale(join(mountsDir, name, file));
        }
      }
    },
  };
}
