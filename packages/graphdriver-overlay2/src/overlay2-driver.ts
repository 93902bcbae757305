import { execFile } from "node:child_process";
import { chmod, mkdir, readFile, readdir, readlink, rename, rm, rmdir, stat, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { StoreError, isStoreError, systemErrorCode } from "@store/errors";
import { KeyedLock } from "@store/internal";
import {
  GraphDriverError,
  GraphDriverErrorCode,
  applyEntries,
  assertLayerId,
  directorySize,
  layerChanges,
  directoryTar,
  type Change,
  type CreateOptions,
  type GetOptions,
  type GraphDriver,
} from "@store/graphdriver";
import type { TarEntry } from "@store/tar-split";
import { MNT_DETACH, linuxSyscalls, mount, pageSize, unmount } from "./libc";
import { isMountPoint, mountPoints } from "./mount-table";
import { overlayApplyHooks, overlayDeletion, overlayExportHooks } from "./overlay-whiteouts";
import type { OverlaySupport } from "./overlay-support";
import { generateShortId } from "./short-id";

const execFileAsync = promisify(execFile);

/** dockerd's limit: a `lower` file names at most 128 layers. */
export const MAX_DEPTH = 128;
const LINK_DIR = "l";

function isRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    if (systemErrorCode(error) === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * dockerd's overlay2 driver, byte-compatible on disk (see the package README for the layout).
 * Layers are applied, diffed and measured on their `diff/` directories directly, so only
 * {@link get} (mounting) needs root.
 */
export class Overlay2Driver implements GraphDriver {
  readonly name = "overlay2";
  readonly home: string;
  readonly #support: OverlaySupport;
  readonly #locks = new KeyedLock();
  /** Mount refcounts by merged dir; `checked` once the mount table was consulted (moby's RefCounter). */
  readonly #mounts = new Map<string, { count: number; checked: boolean }>();

  /** Use `createOverlay2Driver` (or the registry), which runs the support check first. */
  constructor(home: string, support: OverlaySupport) {
    this.home = home;
    this.#support = support;
  }

  #dir(id: string): string {
    return join(this.home, id);
  }

  async #requireLayer(id: string, what = "layer"): Promise<string> {
    const dir = this.#dir(id);
    try {
      await stat(dir);
    } catch (error) {
      if (systemErrorCode(error) !== "ENOENT") throw error;
      throw new GraphDriverError(GraphDriverErrorCode.LayerNotFound, `overlay2: ${what} ${id} does not exist in ${this.home}`, {
        details: { id, home: this.home },
      });
    }
    return dir;
  }

  create(id: string, parent?: string, options?: CreateOptions): Promise<void> {
    return this.#create(id, parent, options);
  }

  createReadWrite(id: string, parent?: string, options?: CreateOptions): Promise<void> {
    return this.#create(id, parent, options);
  }

  async #create(id: string, parent: string | undefined, options: CreateOptions | undefined): Promise<void> {
    assertLayerId(id);
    if (parent !== undefined && parent !== "") assertLayerId(parent, "parent id");
    const storageOpt = Object.keys(options?.storageOpt ?? {});
    if (storageOpt.length > 0) {
      throw new StoreError(
        storageOpt.includes("size") ? GraphDriverErrorCode.Unsupported : GraphDriverErrorCode.InvalidOption,
        `overlay2: storage options (${storageOpt.join(", ")}) for layer ${id} are not supported (size quotas need xfs with pquota)`,
        { details: { id, storageOpt } },
      );
    }
    await this.#locks.run(id, async () => {
      // Everything that can fail on the parent is checked before anything is written.
      const lower = parent ? await this.#childLower(parent) : undefined;
      const dir = this.#dir(id);
      try {
        await mkdir(dir, 0o710);
      } catch (error) {
        if (systemErrorCode(error) !== "EEXIST") throw error;
        throw new GraphDriverError(GraphDriverErrorCode.LayerExists, `overlay2: layer ${id} already exists in ${this.home}`, {
          details: { id, home: this.home },
        });
      }
      let linkPath: string | undefined;
      try {
        await chmod(dir, 0o710);
        await mkdir(join(dir, "diff"), 0o755);
        await chmod(join(dir, "diff"), 0o755);
        const short = await this.#makeLink(id);
        linkPath = join(this.home, LINK_DIR, short);
        await this.#writeAtomic(join(dir, "link"), short, 0o644);
        if (parent) {
          await mkdir(join(dir, "work"), 0o700);
          await writeFile(join(this.#dir(parent), "committed"), "", { mode: 0o600 });
          await writeFile(join(dir, "lower"), lower!, { mode: 0o644 });
          await chmod(join(dir, "lower"), 0o644);
        }
      } catch (error) {
        // dockerd leaves the l/ link behind on failure; we take both away.
        await rm(dir, { recursive: true, force: true });
        if (linkPath !== undefined) await rm(linkPath, { force: true });
        throw error;
      }
    });
  }

  /**
   * Stacks `id`, created without a parent, on `parent`: writes the `lower` file and the work
   * dir that {@link create} would have written. The diff itself never depends on the lowers.
   */
  async setParent(id: string, parent: string): Promise<void> {
    assertLayerId(id);
    assertLayerId(parent, "parent id");
    await this.#locks.run(id, async () => {
      const dir = await this.#requireLayer(id, "layer");
      if ((await readOptional(join(dir, "lower"))) !== undefined) {
        throw new GraphDriverError(GraphDriverErrorCode.InvalidParent, `overlay2: layer ${id} already has a parent`, { details: { id, parent } });
      }
      const lower = await this.#childLower(parent);
      await mkdir(join(dir, "work"), { mode: 0o700, recursive: true });
      await writeFile(join(this.#dir(parent), "committed"), "", { mode: 0o600 });
      // Written last and atomically: a layer with a lower file is a complete child.
      await this.#writeAtomic(join(dir, "lower"), lower, 0o644);
    });
  }

  /** The `lower` of a child of `parent`: the parent's short link, then the parent's own lowers. */
  async #childLower(parent: string): Promise<string> {
    const parentDir = await this.#requireLayer(parent, "parent layer");
    const link = (await readFile(join(parentDir, "link"), "utf8")).trim();
    const lowers = [`${LINK_DIR}/${link}`];
    const parentLower = await readOptional(join(parentDir, "lower"));
    if (parentLower !== undefined && parentLower !== "") lowers.push(...parentLower.split(":"));
    if (lowers.length > MAX_DEPTH) {
      throw new GraphDriverError(
        GraphDriverErrorCode.MaxDepth,
        `overlay2: a child of layer ${parent} would stack ${lowers.length} lower layers (at most ${MAX_DEPTH})`,
        { details: { parent, depth: lowers.length } },
      );
    }
    return lowers.join(":");
  }

  /** Creates `l/<SHORT>` → `../<id>/diff` under a fresh short name. */
  async #makeLink(id: string): Promise<string> {
    await mkdir(join(this.home, LINK_DIR), { recursive: true, mode: 0o700 });
    for (;;) {
      const short = generateShortId();
      try {
        await symlink(`../${id}/diff`, join(this.home, LINK_DIR, short));
        return short;
      } catch (error) {
        if (systemErrorCode(error) !== "EEXIST") throw error;
      }
    }
  }

  /** moby's ioutils.AtomicWriteFile: a temp file in the same dir, then rename. */
  async #writeAtomic(path: string, data: string, mode: number): Promise<void> {
    const temp = `${path}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
    await writeFile(temp, data, { mode });
    await chmod(temp, mode);
    await rename(temp, path);
  }

  async remove(id: string): Promise<void> {
    assertLayerId(id);
    await this.#locks.run(id, async () => {
      const dir = this.#dir(id);
      const merged = join(dir, "merged");
      if ((this.#mounts.get(merged)?.count ?? 0) > 0) {
        throw new GraphDriverError(GraphDriverErrorCode.LayerBusy, `overlay2: layer ${id} is mounted at ${merged}; put it first`, {
          details: { id },
        });
      }
      const link = (await readOptional(join(dir, "link")))?.trim();
      // A corrupt link file must not make us delete outside l/.
      if (link !== undefined && /^[A-Za-z0-9]+$/.test(link)) {
        await rm(join(this.home, LINK_DIR, link), { force: true });
      }
      if (await isMountPoint(merged)) unmount(merged, MNT_DETACH);
      await rm(dir, { recursive: true, force: true });
      this.#mounts.delete(merged);
    });
  }

  async exists(id: string): Promise<boolean> {
    assertLayerId(id);
    try {
      await stat(this.#dir(id));
      return true;
    } catch {
      return false;
    }
  }

  async get(id: string, _options?: GetOptions): Promise<string> {
    assertLayerId(id);
    return this.#locks.run(id, async () => {
      const dir = await this.#requireLayer(id);
      const diffDir = join(dir, "diff");
      const lowers = await readOptional(join(dir, "lower"));
      // A layer without parents is not mounted: its diff is its view.
      if (lowers === undefined) return diffDir;
      if (!isRoot()) {
        throw new GraphDriverError(GraphDriverErrorCode.Permission, `overlay2: mounting layer ${id} needs root (running as uid ${process.getuid?.()})`, {
          details: { id },
        });
      }
      const merged = join(dir, "merged");
      if ((await this.#increment(merged)) > 1) return merged;
      try {
        await this.#mount(id, dir, lowers);
      } catch (error) {
        if (this.#decrement(merged) <= 0) {
          try {
            if (await isMountPoint(merged)) unmount(merged);
          } catch {
            // Best effort: the mount error below is the one that matters.
          }
          await rmdir(merged).catch(() => undefined);
        }
        throw error;
      }
      return merged;
    });
  }

  async #mount(id: string, dir: string, lowers: string): Promise<void> {
    const diffDir = join(dir, "diff");
    const workDir = join(dir, "work");
    const merged = join(dir, "merged");
    const { indexOff } = this.#support;
    const readonly = (await readOptional(join(dir, "committed"))) !== undefined;
    const absLowers = lowers.split(":").map((lower) => join(this.home, lower));
    let options = readonly
      ? `${indexOff}lowerdir=${diffDir}:${absLowers.join(":")}`
      : `${indexOff}lowerdir=${absLowers.join(":")},upperdir=${diffDir},workdir=${workDir}`;
    await mkdir(merged, { mode: 0o700, recursive: true });

    // mount(2) takes one page of options; deep chains only fit with paths relative to the home,
    // which means mounting from a process whose cwd is the home.
    if (options.length > pageSize() - 1) {
      options = readonly ? `${indexOff}lowerdir=${id}/diff:${lowers}` : `${indexOff}lowerdir=${lowers},upperdir=${id}/diff,workdir=${id}/work`;
      if (options.length > pageSize() - 1) {
        throw new GraphDriverError(GraphDriverErrorCode.MountFailed, `overlay2: cannot mount layer ${id}: mount options too long (${options.length} bytes)`, {
          details: { id },
        });
      }
      try {
        await execFileAsync("mount", ["-t", "overlay", "-o", options, "overlay", `${id}/merged`], { cwd: this.home });
      } catch (error) {
        const stderr = (error as { stderr?: string }).stderr?.trim();
        throw new GraphDriverError(
          GraphDriverErrorCode.MountFailed,
          `overlay2: error creating overlay mount to ${merged}: ${stderr || (error as Error).message}`,
          {
            details: { id },
            cause: error,
          },
        );
      }
      return;
    }
    try {
      mount("overlay", merged, "overlay", 0, options);
    } catch (error) {
      throw new GraphDriverError(GraphDriverErrorCode.MountFailed, `overlay2: error creating overlay mount to ${merged}: ${(error as Error).message}`, {
        details: { id },
        cause: error,
      });
    }
  }

  async #increment(merged: string): Promise<number> {
    let counter = this.#mounts.get(merged);
    if (counter === undefined) {
      counter = { count: 0, checked: false };
      this.#mounts.set(merged, counter);
    }
    // A mount left by an earlier process (or dockerd) counts as one user, as in moby.
    if (!counter.checked) {
      counter.checked = true;
      if (await isMountPoint(merged)) counter.count++;
    }
    return ++counter.count;
  }

  #decrement(merged: string): number {
    const counter = this.#mounts.get(merged);
    if (counter === undefined) return 0;
    if (counter.count > 0) counter.count--;
    return counter.count;
  }

  async put(id: string): Promise<void> {
    assertLayerId(id);
    await this.#locks.run(id, async () => {
      const dir = await this.#requireLayer(id);
      const merged = join(dir, "merged");
      if (this.#decrement(merged) > 0) return;
      if ((await readOptional(join(dir, "lower"))) === undefined) return;
      if (await isMountPoint(merged)) unmount(merged, MNT_DETACH);
      await rmdir(merged).catch((error: unknown) => {
        if (systemErrorCode(error) !== "ENOENT") throw error;
      });
    });
  }

  async status(): Promise<Array<[string, string]>> {
    return [
      ["Backing Filesystem", this.#support.backingFilesystem],
      ["Supports d_type", "true"],
      ["Native Overlay Diff", String(this.#support.nativeDiff)],
      ["userxattr", "false"],
    ];
  }

  async metadata(id: string): Promise<Record<string, string>> {
    assertLayerId(id);
    const dir = await this.#requireLayer(id);
    const metadata: Record<string, string> = {
      WorkDir: join(dir, "work"),
      MergedDir: join(dir, "merged"),
      UpperDir: join(dir, "diff"),
    };
    const lowers = await this.#lowerDirs(id);
    if (lowers.length > 0) metadata.LowerDir = lowers.join(":");
    return metadata;
  }

  /** The layer's own files, as they sit in its `diff/` dir (whiteouts in overlay's form). */
  async diffDir(id: string): Promise<string> {
    assertLayerId(id);
    return join(await this.#requireLayer(id), "diff");
  }

  /** The absolute diff dirs below `id`, top first, resolved through the `l/` links. */
  async #lowerDirs(id: string): Promise<string[]> {
    const lower = await readOptional(join(this.#dir(id), "lower"));
    if (lower === undefined || lower === "") return [];
    const dirs: string[] = [];
    for (const entry of lower.split(":")) {
      const target = await readlink(join(this.home, entry));
      dirs.push(join(this.home, LINK_DIR, target));
    }
    return dirs;
  }

  async cleanup(): Promise<void> {
    const prefix = this.home.endsWith("/") ? this.home : `${this.home}/`;
    const points = (await mountPoints()).filter((point) => point.startsWith(prefix)).reverse();
    for (const point of points) {
      try {
        unmount(point, MNT_DETACH);
      } catch (error) {
        if (systemErrorCode(error) !== "EINVAL" && systemErrorCode(error) !== "ENOENT") throw error;
      }
    }
    this.#mounts.clear();
  }

  /**
   * Checks that `parent` is the layer's own parent: overlay2 diffs a layer's upper dir against
   * its lowers, which only answers for that parent (dockerd falls back to a slow mounted
   * comparison otherwise; that fallback is not implemented here).
   */
  async #requireOwnParent(id: string, parent: string | undefined): Promise<string> {
    assertLayerId(id);
    if (parent !== undefined && parent !== "") assertLayerId(parent, "parent id");
    const dir = await this.#requireLayer(id);
    const lowers = await this.#lowerDirs(id);
    const actual = lowers.length > 0 ? join(lowers[0]!, "..") : undefined;
    const asked = parent ? this.#dir(parent) : undefined;
    if (actual !== asked) {
      const actualId = actual === undefined ? "none" : actual.slice(this.home.length + 1);
      throw new GraphDriverError(
        GraphDriverErrorCode.InvalidParent,
        `overlay2: layer ${id} has parent ${actualId}, not ${parent || "none"}; diffs against other layers are not supported`,
        { details: { id, parent, actual: actualId } },
      );
    }
    if (!this.#support.nativeDiff) {
      throw new GraphDriverError(
        GraphDriverErrorCode.Unsupported,
        "overlay2: the kernel's overlay redirect_dir/metacopy is on, so diffing upper dirs would miss renames",
      );
    }
    return dir;
  }

  async *diff(id: string, parent?: string): AsyncGenerator<Uint8Array> {
    const dir = await this.#requireOwnParent(id, parent);
    yield* directoryTar(join(dir, "diff"), { hooks: overlayExportHooks(linuxSyscalls), syscalls: linuxSyscalls });
  }

  async changes(id: string, parent?: string): Promise<Change[]> {
    const dir = await this.#requireOwnParent(id, parent);
    return layerChanges(join(dir, "diff"), await this.#lowerDirs(id), overlayDeletion(linuxSyscalls));
  }

  async diffSize(id: string, parent?: string): Promise<number> {
    const dir = await this.#requireOwnParent(id, parent);
    return directorySize(join(dir, "diff"));
  }

  /**
   * Extracts `entries` into the layer's (empty) diff dir, converting whiteouts to overlay's
   * form, and returns the layer size dockerd records (`directory.Size` of the diff dir). On any
   * error the diff dir is emptied again, so a failed apply leaves nothing behind.
   */
  async applyDiff(id: string, parent: string | undefined, entries: AsyncIterable<TarEntry>): Promise<number> {
    const dir = await this.#requireOwnParent(id, parent);
    return this.#locks.run(id, async () => {
      const diffDir = join(dir, "diff");
      if ((await readdir(diffDir)).length > 0) {
        throw new GraphDriverError(GraphDriverErrorCode.NotEmpty, `overlay2: layer ${id} already has content in ${diffDir}; a diff is applied once`, {
          details: { id },
        });
      }
      const privileged = isRoot();
      let diskSize: number | undefined;
      try {
        ({ diskSize } = await applyEntries(diffDir, entries, {
          hooks: overlayApplyHooks(linuxSyscalls, privileged),
          syscalls: linuxSyscalls,
          privileged,
          emptyRoot: true, // checked just above
        }));
      } catch (error) {
        await rm(diffDir, { recursive: true, force: true });
        await mkdir(diffDir, 0o755);
        await chmod(diffDir, 0o755);
        if (isStoreError(error)) {
          throw new StoreError(error.code, `overlay2: applying a diff to layer ${id}: ${error.message}`, {
            details: { ...error.details, id },
            cause: error,
          });
        }
        throw error;
      }
      // dockerd walks the diff dir for this; the extraction already knows it (not walking
      // saved ~5% of a many-file load), and walks only when it replaced something.
      return diskSize ?? directorySize(diffDir);
    });
  }
}
