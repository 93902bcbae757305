import { mkdir, open, readFile, readdir, unlink } from "node:fs/promises";
import { dirname, join, relative, sep } from "node:path";
import { digestFromBytes } from "@store/digest";
import { isStoreError, systemErrorCode } from "@store/errors";
import { InternalErrorCode, atomicWriteFile, syncDirectory, withFileLock } from "@store/internal";
import { MetadataError, MetadataErrorCode } from "./errors";
import { isMetadataKey } from "./keys";
import type { MetadataDriver } from "./metadata-driver";
import type { MetadataCapabilities, MetadataRecord } from "./metadata-store";

/** Options of {@link createFsMetadataStore}. */
export interface FsMetadataStoreOptions {
  /** The directory records live under; created on the first write. dockerd's tags: `<root>/image/overlay2`. */
  root: string;
  /**
   * Mode of record files (default 0600, as dockerd writes repositories.json), or a function of
   * the key: one root holds files dockerd writes with different modes (repositories.json 0600,
   * distribution metadata 0644).
   */
  fileMode?: number | ((key: string) => number);
  /**
   * Mode of directories the store creates (default 0700, as dockerd's), or a function of the
   * directory's path relative to the root ("" for the root itself, `distribution/diffid-by-digest`
   * below it): dockerd makes `distribution` 0700 and the directories inside it 0755.
   */
  dirMode?: number | ((dir: string) => number);
  /** How long a write waits for another process's lock on the same record (default 30 s). */
  lockTimeoutMs?: number;
}

/**
 * Records as plain files under a root, each written byte for byte as given, so the file is the
 * one dockerd writes and reads (`repositories.json`). The version therefore cannot live in the
 * file: it is the sha256 digest of the file's bytes. Compare-and-swap is a lock file per record
 * (`<name>.lock`, O_EXCL, the owner's PID) held while the version is re-checked and the new bytes
 * are written to `.tmp-<name><random>`, fsynced, renamed over the record, and the directory
 * fsynced: correct across processes, and readers never wait (rename is atomic).
 */
export class FsMetadataDriver implements MetadataDriver {
  readonly name = "fs";
  readonly capabilities: MetadataCapabilities = { conditional: true, persistent: true, shared: true };
  readonly root: string;
  private readonly fileMode: (key: string) => number;
  private readonly dirMode: (dir: string) => number;
  private readonly lockTimeoutMs: number;

  constructor(options: FsMetadataStoreOptions) {
    this.root = options.root;
    const { fileMode = 0o600, dirMode = 0o700 } = options;
    this.fileMode = typeof fileMode === "number" ? () => fileMode : fileMode;
    this.dirMode = typeof dirMode === "number" ? () => dirMode : dirMode;
    this.lockTimeoutMs = options.lockTimeoutMs ?? 30_000;
  }

  async read(key: string): Promise<MetadataRecord | undefined> {
    const data = await readIfPresent(this.path(key));
    return data && { data, version: versionOf(data) };
  }

  async create(key: string, data: Uint8Array): Promise<string | undefined> {
    const path = this.path(key);
    await this.makeParents(key);
    return this.locked(path, async () => {
      if ((await readIfPresent(path)) !== undefined) return undefined;
      return this.publish(key, path, data);
    });
  }

  async replace(key: string, data: Uint8Array, version: string): Promise<string | undefined> {
    const path = this.path(key);
    return this.locked(path, async () => {
      const current = await readIfPresent(path);
      if (current === undefined || versionOf(current) !== version) return undefined;
      return this.publish(key, path, data);
    });
  }

  async write(key: string, data: Uint8Array): Promise<string> {
    const path = this.path(key);
    await this.makeParents(key);
    // Locked too: a compare-and-swap between its check and its rename must not overwrite this.
    return (await this.locked(path, () => this.publish(key, path, data)))!;
  }

  async remove(key: string, version?: string): Promise<boolean> {
    const path = this.path(key);
    return (
      (await this.locked(path, async () => {
        if (version !== undefined) {
          const current = await readIfPresent(path);
          if (current === undefined || versionOf(current) !== version) return false;
        }
        try {
          await unlink(path);
        } catch (e) {
          if (systemErrorCode(e) === "ENOENT") return version === undefined;
          throw e;
        }
        await syncDirectory(dirname(path));
        return true;
      })) ?? version === undefined
    );
  }

  async list(prefix: string): Promise<string[]> {
    const keys: string[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (e) {
        if (["ENOENT", "ENOTDIR"].includes(systemErrorCode(e) ?? "")) return;
        throw e;
      }
      for (const entry of entries) {
        const path = join(dir, entry.name);
        const key = relative(this.root, path).split(sep).join("/");
        // Temp files, lock files and names no key could have are not records.
        if (!isMetadataKey(key)) continue;
        if (entry.isDirectory()) await walk(path);
        else if (entry.isFile()) keys.push(key);
      }
    };
    await walk(prefix === "" ? this.root : this.path(prefix));
    return keys;
  }

  private path(key: string): string {
    return join(this.root, ...key.split("/"));
  }

  /**
   * Runs `fn` under the record's lock file. Undefined, without running `fn`, when the record's
   * directory does not exist: there is no record, so nothing to replace or remove.
   */
  private async locked<T>(path: string, fn: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withFileLock(`${path}.lock`, fn, this.lockTimeoutMs);
    } catch (e) {
      if (systemErrorCode(e) === "ENOENT" && !(await exists(dirname(path)))) return undefined;
      // The store's callers branch on its own codes; the lock routine's error stays the cause.
      if (isStoreError(e, InternalErrorCode.Locked)) throw new MetadataError(MetadataErrorCode.Locked, e.message, { cause: e, details: { ...e.details } });
      throw e;
    }
  }

  /** Writes the record atomically (temp file, fsync, rename, directory fsync) and returns its version. */
  private async publish(key: string, path: string, data: Uint8Array): Promise<string> {
    await atomicWriteFile(path, data, this.fileMode(key));
    return versionOf(data);
  }

  /**
   * Creates the record's missing parent directories one by one, each with its own mode (a
   * recursive mkdir gives every level one mode), and fsyncs the directory above each one created.
   */
  private async makeParents(key: string): Promise<void> {
    const segments = key.split("/").slice(0, -1);
    if (await exists(join(this.root, ...segments))) return;
    for (let i = 0; i <= segments.length; i++) await this.makeDir(segments.slice(0, i).join("/"));
  }

  /** Creates the directory `rel` of the root ("" is the root itself, whose parents are made as needed). */
  private async makeDir(rel: string): Promise<void> {
    const dir = rel === "" ? this.root : join(this.root, ...rel.split("/"));
    const first = await mkdir(dir, { recursive: true, mode: this.dirMode(rel) });
    if (first === undefined) return;
    for (let d = dir; ; d = dirname(d)) {
      await syncDirectory(dirname(d));
      if (d === first || dirname(d) === d) break;
    }
  }
}

/** The version of a file's bytes: their sha256 digest, so it needs nothing beside the file. */
function versionOf(data: Uint8Array): string {
  return digestFromBytes(data).toString();
}

async function readIfPresent(path: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(path);
  } catch (e) {
    // A directory is where deeper keys live, not a record.
    if (["ENOENT", "ENOTDIR", "EISDIR"].includes(systemErrorCode(e) ?? "")) return undefined;
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  return open(path, "r").then(
    async (h) => {
      await h.close();
      return true;
    },
    () => false,
  );
}
