import type { TarEntry, TarHeader } from "@store/tar-split";
import type { Stats } from "node:fs";

/** The AUFS/OCI whiteout prefix: `.wh.<name>` in a layer tar deletes `<name>` from the layers below. */
export const WHITEOUT_PREFIX = ".wh.";
/** Prefix of whiteout metadata files (`.wh..wh.*`). */
export const WHITEOUT_META_PREFIX = ".wh..wh.";
/** The opaque-directory marker: the directory hides everything below it in lower layers. */
export const WHITEOUT_OPAQUE_DIR = ".wh..wh..opq";

/** What {@link ApplyHooks.convert} sees of the entry being applied. */
export interface ApplyEntryContext {
  header: TarHeader;
  /** The cleaned root-relative path (`a/b`); its parent exists and is a real directory. */
  relativePath: string;
  /** The absolute path the entry would be written to. */
  path: string;
  /** The extraction root. */
  root: string;
}

/**
 * Driver-specific rewriting of entries on apply (moby's `tarWhiteoutConverter.ConvertRead`):
 * overlay2 turns `.wh.<name>` into a 0/0 character device and `.wh..wh..opq` into an xattr.
 */
export interface ApplyHooks {
  /**
   * Called for every entry, after its parent is checked and before it is written. Return `true`
   * to let the entry be written as usual, `false` when the hook handled it (nothing is written).
   */
  convert?(entry: ApplyEntryContext): boolean | Promise<boolean>;
}

/** What {@link ExportHooks.convert} sees of a file being exported. */
export interface ExportEntryContext {
  /** The header built for the file, as moby builds it; the hook may change it in place. */
  header: ExportHeader;
  /** Absolute path of the file. */
  path: string;
  /** lstat of the file. */
  stats: Stats;
}

/** A tar header as handed to `writeTar`. */
export type ExportHeader = Partial<TarHeader> & Pick<TarHeader, "name" | "type">;

/** An entry as handed to `writeTar`. */
export interface ExportEntry {
  header: ExportHeader;
  body?: TarEntry["body"] | Uint8Array;
}

/**
 * Driver-specific rewriting of files on export (moby's `tarWhiteoutConverter.ConvertWrite`).
 * Returns an extra header to emit right after this one (overlay2's opaque marker), or nothing.
 */
export interface ExportHooks {
  convert?(entry: ExportEntryContext): ExportHeader | undefined | Promise<ExportHeader | undefined>;
}
