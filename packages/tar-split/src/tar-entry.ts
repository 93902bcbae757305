/**
 * One entry of a tar stream as the parser yields it: the header fully decoded (PAX and GNU
 * long-name/long-link records applied) and the content as a stream that must be read (or is
 * skipped) before the next entry arrives.
 *
 * This type is the seam between tar parsing (this package) and applying a layer to disk (graph
 * drivers), so both can be written and tested against it alone.
 */
export type TarEntryType =
  | "file" // '0' and '\0' (and '7', contiguous)
  | "hardlink" // '1'
  | "symlink" // '2'
  | "char" // '3'
  | "block" // '4'
  | "directory" // '5'
  | "fifo"; // '6'

export interface TarHeader {
  /** The entry's path as written in the archive (after PAX `path` / GNU long names), not cleaned. */
  name: string;
  /** The raw bytes of the name when they are not valid UTF-8 (then `name` is a lossy decoding). */
  nameRaw?: Uint8Array;
  type: TarEntryType;
  /** The raw typeflag character, e.g. "0", "5", "L" never appears (long names are folded in). */
  typeflag: string;
  /** Permission bits and setuid/setgid/sticky (mode & 0o7777). */
  mode: number;
  /**
   * The whole mode field when it holds more than `mode` (moby's tars carry file-type bits such as
   * 0o100000 there); absent otherwise. A writer given it writes it verbatim.
   */
  rawMode?: number;
  uid: number;
  gid: number;
  uname: string;
  gname: string;
  /** Content size in bytes (0 for everything but regular files). */
  size: number;
  /** Modification time; PAX sub-second precision kept. */
  mtime: Date;
  atime?: Date;
  ctime?: Date;
  /** Target of a symlink or hardlink (after PAX `linkpath` / GNU long links). */
  linkname: string;
  /** The raw bytes of the link target when they are not valid UTF-8 (then `linkname` is lossy). */
  linknameRaw?: Uint8Array;
  devmajor: number;
  devminor: number;
  /** Extended attributes from PAX `SCHILY.xattr.<name>` records. */
  xattrs: Record<string, Uint8Array>;
  /** Every PAX record of the entry, verbatim. */
  pax: Record<string, string>;
}

export interface TarEntry {
  header: TarHeader;
  /**
   * The entry's content. Read it fully, or not at all: the parser skips unread content when the
   * next entry is requested. Reading it after moving on is an error.
   */
  body: TarBody;
}

/** An entry's content, read once: as chunks, or (when the parser already holds it) whole. */
export interface TarBody extends AsyncIterable<Uint8Array> {
  /**
   * The whole (remaining) content as one view when it is already in the parser's buffer, read
   * synchronously; undefined, and nothing consumed, otherwise. Why: most layer files are a few
   * hundred bytes, and an async iteration per file cost more than the rest of parsing it.
   */
  readBuffered?(): Uint8Array | undefined;
}
