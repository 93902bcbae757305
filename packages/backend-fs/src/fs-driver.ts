import { readFileSync } from "node:fs";
import * as nodePromises from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import {
  type BackendCapabilities,
  type BackendDriver,
  type ObjectStat,
  type StageHint,
  type StagedWrite,
  type WriteOptions,
  contentRoot,
} from "@store/backend";
import { syncDirectory } from "@store/internal";
import { dirMode, fileMode, tempName, unlinkIfPresent, writeFully } from "./file-io";
import type { FsApi } from "./fs-api";
import { isLinkUnsupported, isMissing, isTaken, orIfMissing } from "./fs-errors";

// One or more components separated by single slashes, none empty or starting with ".".
const plainKey = /^[A-Za-z0-9_][A-Za-z0-9_.-]*(?:\/[A-Za-z0-9_][A-Za-z0-9_.-]*)*$/;

const nodeFs: FsApi = { ...nodePromises, readFileSync: (path) => readFileSync(path) };

export interface FsDriverOptions {
  /** The imagedb directory (`<dockerRoot>/image/overlay2/imagedb`); created on first write. */
  root: string;
  /** A `node:fs/promises`-compatible API; Node's own by default. */
  fs?: FsApi;
  /** The name in messages ("fs" by default). */
  name?: string;
  /** Capabilities declared to the backend ({ persistent: true, conditionalCreate: true } by default). */
  capabilities?: Partial<BackendCapabilities>;
  /** Bytes per chunk when streaming content out (1 MiB by default). */
  readChunkSize?: number;
}

/**
 * The driver behind a local imagedb directory, laid out exactly as dockerd lays it out:
 * `content/sha256/<hex>` and `metadata/sha256/<hex>/<key>`, directories 0700, files 0600,
 * every file published from a `.tmp-<name>*` file in the same directory: by an atomic rename,
 * or, for a create-only write (content), by a hard link that fails when the name is taken.
 */
export class FsDriver implements BackendDriver {
  readonly name: string;
  readonly capabilities: Partial<BackendCapabilities>;
  readonly root: string;
  readonly #fs: FsApi;
  readonly #chunkSize: number;

  constructor(options: FsDriverOptions) {
    this.root = resolve(options.root);
    this.#fs = options.fs ?? nodeFs;
    this.name = options.name ?? "fs";
    // Create-only writes publish by link(2), which the filesystem refuses when the name exists.
    this.capabilities = options.capabilities ?? { persistent: true, conditionalCreate: true };
    this.#chunkSize = options.readChunkSize ?? 1 << 20;
  }

  /** The path of `key` under the root (keys were validated by the backend). */
  path(key: string): string {
    // Keys the backend builds (`content/sha256/<hex>`, `metadata/…/parent`) have no empty, "."
    // or ".." component: joining by hand gives what path.join gives, at a fraction of its cost
    // (restore builds thousands). Anything else takes path.join.
    if (plainKey.test(key)) return this.root === "/" ? `/${key}` : `${this.root}/${key}`;
    return join(this.root, ...key.split("/"));
  }

  async read(key: string): Promise<Uint8Array | undefined> {
    const path = this.path(key);
    if (this.#fs.readFileSync) {
      try {
        return this.#fs.readFileSync(path);
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    }
    return orIfMissing(this.#fs.readFile(path), undefined);
  }

  async readStream(key: string): Promise<AsyncIterable<Uint8Array> | undefined> {
    // Opened now, not on first pull: the stream then reads the file that existed at this moment,
    // whole, even if a writer renames a new one over it meanwhile.
    const handle = await orIfMissing(this.#fs.open(this.path(key), "r"), undefined);
    if (handle === undefined) return undefined;
    const chunkSize = this.#chunkSize;
    return (async function* () {
      try {
        let position = 0;
        for (;;) {
          const buffer = new Uint8Array(chunkSize);
          const { bytesRead } = await handle.read(buffer, 0, chunkSize, position);
          if (bytesRead === 0) return;
          position += bytesRead;
          yield bytesRead === chunkSize ? buffer : buffer.subarray(0, bytesRead);
        }
      } finally {
        await handle.close();
      }
    })();
  }

  async stat(key: string): Promise<ObjectStat | undefined> {
    const stat = await orIfMissing(this.#fs.stat(this.path(key)), undefined);
    return stat?.isFile() ? { size: stat.size, modifiedAt: stat.mtime } : undefined;
  }

  /**
   * dockerd's `ioutils.AtomicWriteFile`: temp file, write, fsync, chmod, rename; then fsync the
   * dir. Create-only writes link instead of renaming (see {@link stage}'s commit).
   */
  async write(key: string, data: Uint8Array, options?: WriteOptions): Promise<boolean> {
    const target = this.path(key);
    // Create-only and already there: no temp file at all (the link would refuse it anyway).
    if (options?.ifAbsent && (await this.stat(key)) !== undefined) return false;
    const staged = await this.#stageIn(dirname(target), target, [data]);
    try {
      return await staged.commit(key, options);
    } catch (e) {
      await staged.abort().catch(() => undefined);
      throw e;
    }
  }

  async stage(source: AsyncIterable<Uint8Array>, hint?: StageHint): Promise<StagedWrite> {
    // Staged beside its destination (or under content/ when the name is not known yet), so the
    // commit is a rename within one filesystem.
    const target = hint?.key === undefined ? undefined : this.path(hint.key);
    return this.#stageIn(target === undefined ? this.path(contentRoot) : dirname(target), target, source);
  }

  async #stageIn(dir: string, target: string | undefined, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<StagedWrite> {
    const fs = this.#fs;
    await fs.mkdir(dir, { recursive: true, mode: dirMode });
    const temp = join(dir, tempName(target === undefined ? "stage" : basename(target)));
    const handle = await fs.open(temp, "wx", fileMode);
    try {
      // One chunk in flight at a time: memory stays bounded whatever the content's size.
      for await (const chunk of source) await writeFully(handle, chunk);
      await handle.sync();
    } catch (e) {
      await handle.close().catch(() => undefined);
      await unlinkIfPresent(fs, temp).catch(() => undefined);
      throw e;
    }
    await handle.close();
    return this.#staged(dir, temp);
  }

  async stageFile(path: string, hint?: StageHint): Promise<StagedWrite | undefined> {
    const fs = this.#fs;
    // `path` is on the machine's filesystem: a driver over another one (memfs) cannot link it.
    if (fs !== nodeFs) return undefined;
    const target = hint?.key === undefined ? undefined : this.path(hint.key);
    const dir = target === undefined ? this.path(contentRoot) : dirname(target);
    await fs.mkdir(dir, { recursive: true, mode: dirMode });
    const temp = join(dir, tempName(target === undefined ? "stage" : basename(target)));
    try {
      await fs.link(path, temp);
    } catch (e) {
      if (isLinkUnsupported(e)) return undefined;
      throw e;
    }
    try {
      // Durable before it is published, as a streamed stage is.
      const handle = await fs.open(temp, "r");
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (e) {
      await unlinkIfPresent(fs, temp).catch(() => undefined);
      throw e;
    }
    return this.#staged(dir, temp);
  }

  /** The commit and abort of a file staged at `temp` in `dir`. */
  #staged(dir: string, temp: string): StagedWrite {
    const fs = this.#fs;
    let done = false;
    return {
      commit: async (key: string, options?: WriteOptions) => {
        const destination = this.path(key);
        const destinationDir = dirname(destination);
        let created = true;
        try {
          // Explicit, as dockerd does: the mode given to open() is filtered by the umask.
          await fs.chmod(temp, fileMode);
          if (destinationDir !== dir) await fs.mkdir(destinationDir, { recursive: true, mode: dirMode });
          if (options?.ifAbsent) created = await this.#linkOnce(temp, destination);
          else await fs.rename(temp, destination);
        } catch (e) {
          if (isMissing(e) && done) throw new Error(`staged content for ${key} was already committed or aborted`);
          throw e;
        }
        done = true;
        await syncDirectory(destinationDir, fs);
        return created;
      },
      abort: async () => {
        if (done) return;
        done = true;
        await unlinkIfPresent(fs, temp);
      },
    };
  }

  /**
   * Publishes `temp` at `destination` unless something is there: link(2) is atomic and refuses
   * an existing name, so of racing writers exactly one creates. The temp name goes either way.
   * A filesystem without hard links falls back to look-then-rename, which for content (the
   * same bytes under the same name) is just as correct.
   */
  async #linkOnce(temp: string, destination: string): Promise<boolean> {
    const fs = this.#fs;
    let created: boolean;
    try {
      await fs.link(temp, destination);
      created = true;
    } catch (e) {
      if (isTaken(e)) {
        created = false;
      } else if (isLinkUnsupported(e)) {
        if (await orIfMissing(fs.stat(destination), undefined)) {
          created = false;
        } else {
          await fs.rename(temp, destination);
          return true;
        }
      } else {
        throw e;
      }
    }
    await unlinkIfPresent(fs, temp);
    return created;
  }

  async remove(key: string): Promise<void> {
    await unlinkIfPresent(this.#fs, this.path(key));
  }

  /** dockerd's `os.RemoveAll` of the metadata directory. */
  async removePrefix(prefix: string): Promise<void> {
    await this.#fs.rm(this.path(prefix), { recursive: true, force: true });
  }

  async *list(prefix: string): AsyncIterable<string> {
    yield* await this.listAll(prefix);
  }

  async listAll(prefix: string): Promise<string[]> {
    return orIfMissing(this.#fs.readdir(this.path(prefix)), []);
  }
}
