import { isUtf8 } from "node:buffer";
import { type ByteSource, ByteReader } from "./byte-reader";
import { TarError, TarErrorCode } from "./errors";
import type { TarBody, TarEntryType, TarHeader } from "./tar-entry";
import {
  BLOCK_SIZE,
  F,
  FieldError,
  Format,
  blockPadding,
  cString,
  detectFormat,
  isZeroBlock,
  parseDecimal,
  parseNumeric,
  parsePaxRecords,
  parsePaxTime,
} from "./tar-format";

/**
 * Go's archive/tar raises no error on PAX/GNU long-name bodies of any size, but the Go 1.19
 * standard library that dockerd unpacks with refuses those over 1 MiB (maxSpecialFileSize); we
 * refuse them too, which also bounds memory.
 */
export const MAX_SPECIAL_FILE_SIZE = 1 << 20;

/** An entry as the reader decodes it, with the raw facts tar-split needs beside the header. */
export interface ParsedEntry {
  header: TarHeader;
  /** The name's bytes (Go's Header.Name), what tar-split records. */
  nameBytes: Buffer;
  /** The size field as Go's Header.Size has it (may be > 0 for header-only types). */
  declaredSize: number;
  /** A PAX global header ('g'): Go returns it as an entry; we record it but never yield it. */
  global: boolean;
  /** Offset of the entry's first header block (its PAX/long-name blocks included). */
  offset: number;
}

/** Where the raw bytes of the archive go while it is read (the tar-split recorder). */
export interface TarReaderHooks {
  /** Bytes outside entry content, in stream order: padding, header blocks, PAX and long-name bodies. */
  raw(bytes: Buffer): void;
  /** An entry's header blocks have been read; its content follows. */
  entry(entry: ParsedEntry): void;
  /** Content bytes of the current entry, whether the caller reads them or they are skipped. */
  content(bytes: Buffer): void;
  /** The current entry's content has been read in full. */
  entryEnd(): void;
  /** The end of the archive was reached (its padding and end blocks went to `raw`). */
  end(): void;
}

export interface TarReaderOptions {
  /** Called with the records of each PAX global header ('g'); dockerd (like Go) does not apply them. */
  onGlobalHeader?: (records: Record<string, string>) => void;
}

const SPARSE_OFFSET = "GNU.sparse.offset";
const SPARSE_NUMBYTES = "GNU.sparse.numbytes";
const SPARSE_MAP = "GNU.sparse.map";
const XATTR_PREFIX = "SCHILY.xattr.";

function isHeaderOnly(flag: number): boolean {
  return flag >= 0x31 && flag <= 0x36; // '1'..'6'
}

function entryType(flag: number, nameBytes: Buffer): TarEntryType | undefined {
  switch (flag) {
    case 0x00:
      // Legacy archives mark directories by a trailing slash only (Go's TypeRegA rule).
      return nameBytes.length > 0 && nameBytes[nameBytes.length - 1] === 0x2f ? "directory" : "file";
    case 0x30:
    case 0x37:
      return "file";
    case 0x31:
      return "hardlink";
    case 0x32:
      return "symlink";
    case 0x33:
      return "char";
    case 0x34:
      return "block";
    case 0x35:
      return "directory";
    case 0x36:
      return "fifo";
    default:
      return undefined;
  }
}

function decodeUtf8(bytes: Buffer): { text: string; raw?: Uint8Array } {
  const text = bytes.toString("utf8");
  return isUtf8(bytes) ? { text } : { text, raw: Uint8Array.from(bytes) };
}

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

function flagText(flag: number): string {
  return flag >= 0x20 && flag < 0x7f ? `'${String.fromCharCode(flag)}'` : `0x${flag.toString(16).padStart(2, "0")}`;
}

/** The header fields of one block, before PAX and GNU long names are applied. */
interface RawHeader {
  flag: number;
  name: Buffer;
  linkname: Buffer;
  size: number;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  uname: Buffer;
  gname: Buffer;
  devmajor: number;
  devminor: number;
  atime?: number;
  ctime?: number;
}

/** Go's readHeader after the end-of-archive checks: decode one checksummed block. */
function decodeBlock(b: Buffer): RawHeader | undefined {
  const format = detectFormat(b);
  if (format === Format.unknown) return undefined;
  const h: RawHeader = {
    flag: b[F.typeflag[0]]!,
    name: Buffer.from(cString(b, ...F.name)),
    linkname: Buffer.from(cString(b, ...F.linkname)),
    size: parseNumeric(b, ...F.size),
    mode: parseNumeric(b, ...F.mode),
    uid: parseNumeric(b, ...F.uid),
    gid: parseNumeric(b, ...F.gid),
    mtime: parseNumeric(b, ...F.mtime),
    uname: Buffer.alloc(0),
    gname: Buffer.alloc(0),
    devmajor: 0,
    devminor: 0,
  };
  if (format > Format.v7) {
    h.uname = Buffer.from(cString(b, ...F.uname));
    h.gname = Buffer.from(cString(b, ...F.gname));
    h.devmajor = parseNumeric(b, ...F.devmajor);
    h.devminor = parseNumeric(b, ...F.devminor);
    let prefix: Uint8Array = Buffer.alloc(0);
    if (format & (Format.ustar | Format.pax)) {
      prefix = cString(b, ...F.prefix);
    } else if (format & Format.star) {
      prefix = cString(b, ...F.starPrefix);
      h.atime = parseNumeric(b, ...F.starAtime);
      h.ctime = parseNumeric(b, ...F.starCtime);
    } else if (format & Format.gnu) {
      // Go parses GNU atime/ctime skeptically: files from Go < 1.8 put a USTAR prefix there.
      try {
        if (b[F.gnuAtime[0]] !== 0) h.atime = parseNumeric(b, ...F.gnuAtime);
        if (b[F.gnuCtime[0]] !== 0) h.ctime = parseNumeric(b, ...F.gnuCtime);
      } catch {
        h.atime = undefined;
        h.ctime = undefined;
        const p = cString(b, ...F.prefix);
        if (isAscii(p)) prefix = p;
      }
    }
    if (prefix.length > 0) h.name = Buffer.concat([prefix, Buffer.from("/"), h.name]);
  }
  return h;
}

/**
 * A streaming tar reader that decides exactly what Go's archive/tar (tar-split's fork, as vendored
 * by dockerd) decides: where an entry's raw bytes start and end, what its name is, what is an error
 * and where the archive ends. The caller reads each entry's content through {@link body}.
 */
const EMPTY_BODY = new Uint8Array(0);

export class TarReader {
  private readonly reader: ByteReader;
  private readonly hooks: TarReaderHooks | undefined;
  private readonly options: TarReaderOptions;
  private remaining = 0;
  private pad = 0;
  private seq = 0;
  private current: ParsedEntry | undefined;
  private finished = false;

  constructor(source: ByteSource, hooks?: TarReaderHooks, options: TarReaderOptions = {}) {
    this.reader = new ByteReader(source);
    this.hooks = hooks;
    this.options = options;
  }

  /** Bytes read from the source so far. */
  get offset(): number {
    return this.reader.offset;
  }

  private fail(code: TarErrorCode, message: string, offset: number, name?: Buffer, cause?: unknown): TarError {
    const who = name && name.length > 0 ? `tar entry ${JSON.stringify(name.toString("utf8"))}` : "tar header";
    return new TarError(code, `${who} at offset ${offset}: ${message}`, {
      details: { offset, ...(name && name.length > 0 ? { name: name.toString("utf8") } : {}) },
      ...(cause === undefined ? {} : { cause }),
    });
  }

  private endContent(): void {
    if (this.current) {
      this.current = undefined;
      this.hooks?.entryEnd();
    }
  }

  /** Skips what is left of the current entry's content (a truncated archive is an error here). */
  private async skipContent(): Promise<void> {
    if (this.remaining > 0) {
      const want = this.remaining;
      const name = this.current?.nameBytes;
      const entryOffset = this.current?.offset ?? this.reader.offset;
      const hooks = this.hooks;
      const got = await this.reader.skip(want, hooks ? (piece) => hooks.content(piece) : undefined);
      this.remaining -= got;
      if (got < want) {
        throw this.fail(TarErrorCode.Truncated, `archive ends ${want - got} bytes before the end of the content`, entryOffset, name);
      }
    }
    this.endContent();
  }

  /** Reads a PAX or GNU long-name body: part of the raw bytes, not content. */
  private async readSpecial(size: number, offset: number, name: Buffer): Promise<Buffer> {
    if (size > MAX_SPECIAL_FILE_SIZE) {
      throw this.fail(TarErrorCode.InvalidHeader, `extended header of ${size} bytes exceeds ${MAX_SPECIAL_FILE_SIZE}`, offset, name);
    }
    const body = await this.reader.readExact(size);
    if (body.length > 0) this.hooks?.raw(body);
    this.remaining = 0;
    if (body.length < size) throw this.fail(TarErrorCode.Truncated, "archive ends inside an extended header", offset, name);
    return body;
  }

  /** The next entry, or null at the end of the archive. */
  async next(): Promise<ParsedEntry | null> {
    if (this.finished) return null;
    for (;;) {
      const entry = await this.nextRaw();
      if (entry === null) {
        this.finished = true;
        this.hooks?.end();
        return null;
      }
      if (!entry.global) return entry;
    }
  }

  private async nextRaw(): Promise<ParsedEntry | null> {
    let paxRecords: Map<string, Buffer> | undefined;
    let longName: Buffer | undefined;
    let longLink: Buffer | undefined;
    let entryOffset = -1;
    for (;;) {
      await this.skipContent();
      // Go tolerates the archive ending inside padding: that is a clean end.
      if (this.pad > 0) {
        const pad = await this.reader.readExact(this.pad);
        if (pad.length > 0) this.hooks?.raw(pad);
        const short = pad.length < this.pad;
        this.pad = 0;
        if (short) return null;
      }

      const headerOffset = this.reader.offset;
      if (entryOffset < 0) entryOffset = headerOffset;
      const block = await this.reader.readExact(BLOCK_SIZE);
      if (block.length === 0) return null;
      if (block.length < BLOCK_SIZE) {
        this.hooks?.raw(block);
        throw this.fail(TarErrorCode.Truncated, `archive ends inside a header block (${block.length} of 512 bytes)`, headerOffset);
      }
      this.hooks?.raw(block);
      if (isZeroBlock(block)) {
        const second = await this.reader.readExact(BLOCK_SIZE);
        if (second.length === 0) return null;
        if (second.length < BLOCK_SIZE) {
          throw this.fail(TarErrorCode.Truncated, "archive ends inside the second end-of-archive block", headerOffset + BLOCK_SIZE);
        }
        this.hooks?.raw(second);
        if (isZeroBlock(second)) return null;
        throw this.fail(TarErrorCode.InvalidHeader, "a zero block followed by a non-zero block", headerOffset);
      }

      let h: RawHeader | undefined;
      try {
        h = decodeBlock(block);
      } catch (error) {
        const name = Buffer.from(cString(block, ...F.name));
        throw this.fail(TarErrorCode.InvalidHeader, `bad numeric field (${(error as Error).message})`, headerOffset, name, error);
      }
      if (h === undefined) {
        throw this.fail(TarErrorCode.InvalidHeader, "bad header checksum", headerOffset, Buffer.from(cString(block, ...F.name)));
      }
      if (h.size < 0) throw this.fail(TarErrorCode.InvalidHeader, "negative size", headerOffset, h.name);
      this.remaining = isHeaderOnly(h.flag) ? 0 : h.size;
      this.pad = blockPadding(this.remaining);

      switch (h.flag) {
        case 0x78: // 'x'
        case 0x67: {
          // 'g'
          const body = await this.readSpecial(h.size, headerOffset, h.name);
          const records = this.parsePax(body, headerOffset, h.name);
          if (h.flag === 0x67) return this.globalEntry(h, records, entryOffset);
          paxRecords = records;
          continue;
        }
        case 0x4c: // 'L'
        case 0x4b: {
          // 'K'
          const body = await this.readSpecial(h.size, headerOffset, h.name);
          const value = Buffer.from(cString(body, 0, body.length));
          if (h.flag === 0x4c) longName = value;
          else longLink = value;
          continue;
        }
        default:
          return this.regularEntry(h, paxRecords, longName, longLink, entryOffset, headerOffset);
      }
    }
  }

  private parsePax(body: Buffer, offset: number, name: Buffer): Map<string, Buffer> {
    const records = new Map<string, Buffer>();
    const sparseMap: string[] = [];
    try {
      for (const [k, v] of parsePaxRecords(body)) {
        const key = Buffer.from(k).toString("latin1");
        if (key === SPARSE_OFFSET || key === SPARSE_NUMBYTES) {
          const value = Buffer.from(v).toString("latin1");
          const expectOffset = sparseMap.length % 2 === 0;
          if ((expectOffset && key !== SPARSE_OFFSET) || (!expectOffset && key !== SPARSE_NUMBYTES) || value.includes(",")) {
            throw new FieldError("GNU sparse records out of order");
          }
          sparseMap.push(value);
        } else {
          records.set(key, Buffer.from(v));
        }
      }
    } catch (error) {
      throw this.fail(TarErrorCode.InvalidHeader, `bad PAX record (${(error as Error).message})`, offset, name, error);
    }
    if (sparseMap.length > 0) records.set(SPARSE_MAP, Buffer.from(sparseMap.join(","), "latin1"));
    return records;
  }

  private globalEntry(h: RawHeader, records: Map<string, Buffer>, offset: number): ParsedEntry {
    // Go returns the 'g' header as an entry named by its header (or a PAX path), without a size.
    let nameBytes = h.name;
    const path = records.get("path");
    if (path && path.length > 0) nameBytes = path;
    const pax = recordsToStrings(records);
    this.options.onGlobalHeader?.(pax);
    const header: TarHeader = {
      name: nameBytes.toString("utf8"),
      type: "file",
      typeflag: "g",
      mode: 0,
      uid: 0,
      gid: 0,
      uname: "",
      gname: "",
      size: 0,
      mtime: new Date(0),
      linkname: "",
      devmajor: 0,
      devminor: 0,
      xattrs: {},
      pax,
    };
    const entry: ParsedEntry = { header, nameBytes, declaredSize: 0, global: true, offset };
    this.current = entry;
    this.seq++;
    this.hooks?.entry(entry);
    this.endContent();
    return entry;
  }

  private regularEntry(
    h: RawHeader,
    records: Map<string, Buffer> | undefined,
    longName: Buffer | undefined,
    longLink: Buffer | undefined,
    offset: number,
    headerOffset: number,
  ): ParsedEntry {
    let name = h.name;
    let linkname = h.linkname;
    let uname = h.uname;
    let gname = h.gname;
    let { uid, gid, size } = h;
    let mtime = new Date(h.mtime * 1000);
    let atime = h.atime === undefined ? undefined : new Date(h.atime * 1000);
    let ctime = h.ctime === undefined ? undefined : new Date(h.ctime * 1000);
    const xattrs: Record<string, Uint8Array> = {};
    if (records) {
      try {
        for (const [k, v] of records) {
          if (v.length === 0) continue; // Go keeps the USTAR value for empty records
          const text = () => v.toString("utf8");
          switch (k) {
            case "path":
              name = v;
              break;
            case "linkpath":
              linkname = v;
              break;
            case "uname":
              uname = v;
              break;
            case "gname":
              gname = v;
              break;
            case "uid":
              uid = parseDecimal(text());
              break;
            case "gid":
              gid = parseDecimal(text());
              break;
            case "size":
              size = parseDecimal(text());
              break;
            case "mtime":
              mtime = parsePaxTime(text()).date;
              break;
            case "atime":
              atime = parsePaxTime(text()).date;
              break;
            case "ctime":
              ctime = parsePaxTime(text()).date;
              break;
            default:
              if (k.startsWith(XATTR_PREFIX)) {
                xattrs[Buffer.from(k.slice(XATTR_PREFIX.length), "latin1").toString("utf8")] = Uint8Array.from(v);
              }
          }
        }
      } catch (error) {
        throw this.fail(TarErrorCode.InvalidHeader, `bad PAX record (${(error as Error).message})`, headerOffset, name, error);
      }
    }
    if (longName && longName.length > 0) name = longName;
    if (longLink && longLink.length > 0) linkname = longLink;

    if (size < 0) throw this.fail(TarErrorCode.InvalidHeader, "negative size", headerOffset, name);
    this.remaining = isHeaderOnly(h.flag) ? 0 : size;
    this.pad = blockPadding(this.remaining);

    if (h.flag === 0x53) throw this.fail(TarErrorCode.Unsupported, "GNU sparse files are not supported", headerOffset, name);
    if (records && isPaxSparse(records)) {
      throw this.fail(TarErrorCode.Unsupported, "PAX (GNU) sparse files are not supported", headerOffset, name);
    }
    const type = entryType(h.flag, name);
    if (type === undefined) {
      // Go's reader hands such entries on and dockerd then refuses them ("unhandled tar header type").
      throw this.fail(TarErrorCode.Unsupported, `unsupported typeflag ${flagText(h.flag)}`, headerOffset, name);
    }

    const decodedName = decodeUtf8(name);
    const decodedLink = decodeUtf8(linkname);
    const header: TarHeader = {
      name: decodedName.text,
      type,
      typeflag: String.fromCharCode(h.flag),
      mode: h.mode & 0o7777,
      uid,
      gid,
      uname: uname.toString("utf8"),
      gname: gname.toString("utf8"),
      size: this.remaining,
      mtime,
      linkname: decodedLink.text,
      devmajor: h.devmajor,
      devminor: h.devminor,
      xattrs,
      pax: records ? recordsToStrings(records) : {},
    };
    if ((h.mode & 0o7777) !== h.mode) header.rawMode = h.mode;
    if (decodedName.raw) header.nameRaw = decodedName.raw;
    if (decodedLink.raw) header.linknameRaw = decodedLink.raw;
    if (atime) header.atime = atime;
    if (ctime) header.ctime = ctime;

    const entry: ParsedEntry = { header, nameBytes: name, declaredSize: size, global: false, offset };
    this.current = entry;
    this.seq++;
    this.hooks?.entry(entry);
    if (this.remaining === 0) this.endContent();
    return entry;
  }

  /** The content of `entry`, which must be the current one. */
  body(entry: ParsedEntry): TarBody {
    const seq = this.seq;
    const self = this;
    return {
      readBuffered() {
        if (seq !== self.seq) {
          throw self.fail(TarErrorCode.BodyExpired, "content read after the parser moved to a later entry", entry.offset, entry.nameBytes);
        }
        if (self.remaining === 0) return EMPTY_BODY;
        if (self.remaining > self.reader.buffered) return undefined;
        const view = self.reader.takeBuffered(self.remaining);
        self.remaining = 0;
        self.hooks?.content(view);
        self.endContent();
        return view;
      },
      async *[Symbol.asyncIterator]() {
        for (;;) {
          if (seq !== self.seq) {
            throw self.fail(TarErrorCode.BodyExpired, "content read after the parser moved to a later entry", entry.offset, entry.nameBytes);
          }
          if (self.remaining === 0) return;
          const view = self.reader.buffered > 0 ? self.reader.takeBuffered(self.remaining) : await self.reader.read(self.remaining);
          if (view === null) {
            throw self.fail(TarErrorCode.Truncated, `archive ends ${self.remaining} bytes before the end of the content`, entry.offset, entry.nameBytes);
          }
          self.remaining -= view.length;
          self.hooks?.content(view);
          if (self.remaining === 0) self.endContent();
          yield view;
        }
      },
    };
  }

  /** Reads the source to its end after the archive (trailing padding or garbage). */
  async drain(onPiece?: (piece: Buffer) => void): Promise<number> {
    let total = 0;
    for (;;) {
      const view = await this.reader.read(Number.MAX_SAFE_INTEGER);
      if (view === null) return total;
      total += view.length;
      onPiece?.(view);
    }
  }

  async close(): Promise<void> {
    await this.reader.close();
  }
}

function recordsToStrings(records: Map<string, Buffer>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of records) out[Buffer.from(k, "latin1").toString("utf8")] = v.toString("utf8");
  return out;
}

/** Go's readGNUSparsePAXHeaders: does this PAX header describe a sparse file Go would expand? */
function isPaxSparse(records: Map<string, Buffer>): boolean {
  const major = records.get("GNU.sparse.major")?.toString("latin1") ?? "";
  const minor = records.get("GNU.sparse.minor")?.toString("latin1") ?? "";
  if (major === "0" && (minor === "0" || minor === "1")) return true;
  if (major === "1" && minor === "0") return true;
  if (major !== "" || minor !== "") return false; // an unknown version: Go reads it as a regular file
  return (records.get(SPARSE_MAP)?.length ?? 0) > 0;
}
