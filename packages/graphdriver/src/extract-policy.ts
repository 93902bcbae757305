import type { StoreError } from "@store/errors";
import type { TarHeader } from "@store/tar-split";
import { GraphDriverError, GraphDriverErrorCode } from "./errors";
import { entryRelativePath, parentOf } from "./entry-path";
import { WHITEOUT_PREFIX } from "./whiteout-hooks";

/** What is at a path, as far as the policy cares. */
export type PathKind = "directory" | "symlink" | "other";

/**
 * How the policy looks at the extraction root. `written` is true when this extraction wrote
 * the path itself: a writer that finishes writes in the background must let them land first.
 */
export type PathLookup = (relativePath: string, written: boolean) => Promise<PathKind | undefined>;

/** Where one entry goes, decided by {@link ExtractPolicy.place}. */
export type Placement =
  /** The root directory itself (moby skips it: the root always is a directory). */
  | { skip: true }
  | {
      skip: false;
      /** The cleaned root-relative path (`a/b`). */
      relativePath: string;
      /** Missing parent directories to create first, outermost first. */
      missingDirs: string[];
      /** What is at the path now (undefined: nothing). */
      existing: PathKind | undefined;
      /** Whatever exists must be removed first (everything but a directory met by a directory). */
      replace: boolean;
    };

/**
 * The extractor's path rules, apart from any writing: which root-relative path an entry lands
 * on, and whether it may. The invariant it keeps is that nothing is ever written through a
 * symlink: every parent directory of an entry is known to be a real directory (created by this
 * extraction or looked at with lstat), so a symlink planted by an earlier entry cannot lead a
 * later one out of the root. Names are cleaned as moby cleans them; names that climb out,
 * non-UTF-8 names, a second entry for one cleaned path and hardlinks to anything outside the
 * root or behind a symlink are refused with a StoreError.
 *
 * It touches no file: what exists is asked of a {@link PathLookup}, and the caller carries out
 * the placement (creates `missingDirs`, removes what is replaced, writes the entry), then tells
 * the policy about removals it made ({@link removed}).
 */
export class ExtractPolicy {
  readonly #lookup: PathLookup;
  readonly #emptyRoot: boolean;
  /** Cleaned paths seen so far: a second entry for one of them is refused. */
  readonly #seen = new Set<string>();
  /** Root-relative paths known to be real directories (not symlinks), so each is looked at once. */
  readonly #realDirs = new Set<string>(["."]);
  /** Every root-relative path this extraction created (links, dirs and whiteout targets included). */
  readonly #created = new Set<string>();
  #replaced = false;

  /**
   * @param emptyRoot the root is empty when extraction starts (a fresh layer): then a path can
   * only exist if this extraction created it, so paths it did not create are never looked at.
   */
  constructor(lookup: PathLookup, options: { emptyRoot?: boolean } = {}) {
    this.#lookup = lookup;
    this.#emptyRoot = options.emptyRoot ?? false;
  }

  /** True once something this extraction wrote was replaced or removed (sizes counted so far no longer add up). */
  get replacedOwnWrite(): boolean {
    return this.#replaced;
  }

  /** Decides where `header` goes; throws a StoreError when it may not go anywhere. */
  async place(header: TarHeader): Promise<Placement> {
    if (header.nameRaw !== undefined || header.linknameRaw !== undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.Unsupported, "names and link targets that are not valid UTF-8 are not supported");
    }
    const rel = entryRelativePath(header.name);
    if (rel === undefined) throw breakout("the path climbs out of the layer root");
    if (this.#seen.has(rel)) {
      throw new GraphDriverError(GraphDriverErrorCode.DuplicateEntry, `the layer names ${JSON.stringify(rel)} twice`, { details: { path: rel } });
    }
    this.#seen.add(rel);
    if (rel === ".") {
      if (header.type === "directory") return { skip: true };
      throw breakout(`an entry of type ${header.type} cannot replace the layer root`);
    }

    const missingDirs: string[] = [];
    await this.#requireRealDir(parentOf(rel), missingDirs);
    // As moby: whatever exists there is replaced, unless both are directories (then merged).
    const existing = !this.#emptyRoot || this.#created.has(rel) ? await this.#lookup(rel, this.#created.has(rel)) : undefined;
    const replace = existing !== undefined && !(existing === "directory" && header.type === "directory");
    if (replace) this.removed(rel);
    this.#created.add(rel);
    return { skip: false, relativePath: rel, missingDirs, existing, replace };
  }

  /** Notes that a directory entry was written (or merged) at `relativePath`: entries may go below it. */
  directoryWritten(relativePath: string): void {
    this.#realDirs.add(relativePath);
  }

  /**
   * The root-relative path of a hardlink's target, which must exist in the root, not be a
   * directory, and sit below real directories only (link(2) itself does not follow a symlink
   * target: the new name links the symlink).
   */
  async hardlinkTarget(linkname: string): Promise<{ relativePath: string; kind: PathKind }> {
    const rel = entryRelativePath(linkname);
    if (rel === undefined || rel === ".") throw breakout(`hardlink target ${JSON.stringify(linkname)} is outside the layer root`);
    await this.#requireRealDir(parentOf(rel), undefined);
    const kind = await this.#lookup(rel, this.#created.has(rel));
    if (kind === undefined) {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `hardlink target ${JSON.stringify(linkname)} does not exist in the layer`);
    }
    if (kind === "directory") {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `hardlink target ${JSON.stringify(linkname)} is a directory`);
    }
    return { relativePath: rel, kind };
  }

  /**
   * Notes a whiteout entry `<dir>/.wh.<name>` the driver's hook handled: `<dir>/<name>` may be
   * gone or (overlay2) replaced by a marker now. Returns the path it stands for.
   */
  whiteout(relativePath: string): string {
    const base = relativePath.slice(relativePath.lastIndexOf("/") + 1);
    const target = whiteoutTarget(relativePath, base);
    this.removed(target);
    this.#created.add(target);
    return target;
  }

  /** Notes that `relativePath` (and everything below it) was removed or replaced. */
  removed(relativePath: string): void {
    if (this.#created.has(relativePath) || !this.#emptyRoot) this.#replaced = true;
    for (const dir of this.#realDirs) {
      if (dir === relativePath || dir.startsWith(`${relativePath}/`)) this.#realDirs.delete(dir);
    }
  }

  /**
   * Makes sure `rel` and each of its parents is a real directory. Missing ones are added to
   * `missing` (outermost first) and from then on count as real (the caller creates them before
   * writing anything below); without `missing`, a missing directory is an error. A symlink or a
   * file on the way is refused: writing through it could leave the root.
   */
  async #requireRealDir(rel: string, missing: string[] | undefined): Promise<void> {
    if (this.#realDirs.has(rel)) return;
    await this.#requireRealDir(parentOf(rel), missing);
    // Below a directory this extraction is creating, nothing exists yet: no need to look.
    const parentMissing = missing?.includes(parentOf(rel));
    const kind = parentMissing || (this.#emptyRoot && !this.#created.has(rel)) ? undefined : await this.#lookup(rel, this.#created.has(rel));
    if (kind === undefined) {
      if (missing === undefined) {
        throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `directory ${JSON.stringify(rel)} does not exist in the layer`);
      }
      missing.push(rel);
      this.#created.add(rel);
    } else if (kind === "symlink") {
      throw breakout(`${JSON.stringify(rel)} on the way is a symlink; refusing to write through it`);
    } else if (kind !== "directory") {
      throw new GraphDriverError(GraphDriverErrorCode.ApplyFailed, `${JSON.stringify(rel)} on the way is not a directory`);
    }
    this.#realDirs.add(rel);
  }
}

function breakout(message: string): StoreError {
  return new GraphDriverError(GraphDriverErrorCode.Breakout, message);
}

/** The root-relative path a whiteout `<dir>/.wh.<name>` stands for. */
function whiteoutTarget(rel: string, base: string): string {
  const dir = parentOf(rel);
  const name = base.slice(WHITEOUT_PREFIX.length);
  return dir === "." ? name : `${dir}/${name}`;
}
