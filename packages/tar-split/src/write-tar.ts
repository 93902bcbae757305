import { TarError, TarErrorCode } from "./errors";
import type { TarEntryType, TarHeader } from "./tar-entry";
import { BLOCK_SIZE, F, blockPadding, computeChecksum, formatPaxRecord, goCleanPath, validPaxRecord } from "./tar-format";

/** An entry for {@link writeTar}: header fields (defaults below) and, for files, the content. */
export interface TarWriteEntry {
  /**
   * `name` and `type` are required. Defaults: mode 0o644 (directories 0o755, symlinks 0o777),
   * uid/gid 0, uname/gname "", mtime the epoch, linkname "", device numbers 0, no xattrs. `size`
   * defaults to the body's length when the body is a Uint8Array; for other types it is 0.
   * `nameRaw`/`linknameRaw` (bytes) win over `name`/`linkname`.
   */
  header: Partial<TarHeader> & { name: string; type: TarEntryType };
  body?: AsyncIterable<Uint8Array> | Uint8Array;
}

const TYPEFLAGS: Record<TarEntryType, number> = {
  file: 0x30,
  hardlink: 0x31,
  symlink: 0x32,
  char: 0x33,
  block: 0x34,
  directory: 0x35,
  fifo: 0x36,
};

// PAX keys that header fields own (Go's basicKeys): records given for them are not copied.
const BASIC_KEYS = new Set(["path", "linkpath", "size", "uid", "gid", "uname", "gname", "mtime", "atime", "ctime"]);
const END_OF_ARCHIVE = Buffer.alloc(2 * BLOCK_SIZE);
const ZEROS = Buffer.alloc(BLOCK_SIZE);
// Small entries go out as one chunk (header + content + padding) rather than three.
const COALESCE_LIMIT = 64 * 1024;

function fitsInOctal(n: number, x: number): boolean {
  return x >= 0 && (n >= 22 || x < 8 ** (n - 1));
}

function isAscii(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) if (b[i]! >= 0x80) return false;
  return true;
}

/** Go's toASCII: drops every byte of a non-ASCII character. */
function toAscii(b: Buffer): Buffer {
  return isAscii(b) ? b : Buffer.from(b.filter((c) => c < 0x80));
}

/** Go's formatter.formatString: copy, NUL-terminate when short, and never leave a truncated name ending in '/'. */
function formatString(blk: Buffer, [off, len]: readonly [number, number], s: Buffer): void {
  s.copy(blk, off, 0, Math.min(len, s.length));
  if (s.length < len) blk[off + s.length] = 0;
  if (s.length > len && blk[off + len - 1] === 0x2f) {
    let n = len - 1;
    while (n > 0 && s[n - 1] === 0x2f) n--;
    blk[off + n] = 0;
  }
}

/** Go's formatter.formatOctal: zero-padded digits and a NUL; 0 when the value does not fit. */
function formatOctal(blk: Buffer, [off, len]: readonly [number, number], x: number): void {
  const v = fitsInOctal(len, x) ? x : 0;
  const digits = v.toString(8).padStart(len - 1, "0");
  formatString(blk, [off, len], Buffer.from(digits, "latin1"));
}

/** Go's splitUSTARPath: a prefix (≤155) and suffix (≤100) split at a slash, if there is one. */
function splitUstarPath(name: Buffer): [Buffer, Buffer] | undefined {
  let length = name.length;
  if (length <= 100 || !isAscii(name)) return undefined;
  if (length > 156) length = 156;
  else if (name[length - 1] === 0x2f) length--;
  const i = name.subarray(0, length).lastIndexOf(0x2f);
  const nlen = name.length - i - 1;
  if (i <= 0 || nlen > 100 || nlen === 0 || i > 155) return undefined;
  return [name.subarray(0, i), name.subarray(i + 1)];
}

/** Go's formatPAXTime. */
function formatPaxTime(date: Date): string {
  const ms = date.getTime();
  let secs = Math.floor(ms / 1000);
  let nsecs = (ms - secs * 1000) * 1e6;
  if (nsecs === 0) return String(secs);
  let sign = "";
  if (secs < 0) {
    sign = "-";
    secs = -(secs + 1);
    nsecs = -(nsecs - 1e9);
  }
  return `${sign}${secs}.${String(nsecs).padStart(9, "0")}`.replace(/0+$/, "");
}

/** Go's `path.Join(dir, "PaxHeaders.0", file)` of the entry's name, as a latin1 byte string. */
function paxHeaderName(name: Buffer): Buffer {
  const s = name.toString("latin1");
  const i = s.lastIndexOf("/");
  const dir = s.slice(0, i + 1);
  const file = s.slice(i + 1);
  const joined = goCleanPath([dir, "PaxHeaders.0", file].filter((e) => e !== "").join("/"));
  let out = toAscii(Buffer.from(joined, "latin1"));
  if (out.length > 100) out = out.subarray(0, 100);
  let end = out.length;
  while (end > 0 && out[end - 1] === 0x2f) end--;
  return out.subarray(0, end);
}

function setUstarMagic(blk: Buffer): void {
  blk.write("ustar\u000000", F.magic[0], "latin1");
}

function setChecksum(blk: Buffer): void {
  const { unsigned } = computeChecksum(blk);
  formatOctal(blk, [F.chksum[0], 7], unsigned);
  blk[F.chksum[0] + 7] = 0x20;
}

function invalid(name: string, message: string): TarError {
  return new TarError(TarErrorCode.InvalidEntry, `tar entry ${JSON.stringify(name)}: ${message}`, { details: { name } });
}

interface Resolved {
  label: string;
  flag: number;
  name: Buffer;
  linkname: Buffer;
  uname: Buffer;
  gname: Buffer;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  mtime: Date;
  devmajor: number;
  devminor: number;
}

/**
 * The header blocks of one entry the way Go's tar.Writer writes them with no format requested:
 * USTAR when every field fits (long names split into prefix and name), else one PAX `x` header
 * (records sorted by key, named `<dir>/PaxHeaders.0/<file>`) before a header whose fields hold
 * what fits. Sub-second, atime and ctime records appear only when given (Go would drop them).
 */
export function encodeTarHeader(header: TarWriteEntry["header"], size: number): Buffer {
  const label = header.name;
  const type = header.type;
  const flag = TYPEFLAGS[type];
  if (flag === undefined) throw invalid(label, `unknown type ${JSON.stringify(type)}`);
  const r: Resolved = {
    label,
    flag,
    name: header.nameRaw ? Buffer.from(header.nameRaw) : Buffer.from(header.name, "utf8"),
    linkname: header.linknameRaw ? Buffer.from(header.linknameRaw) : Buffer.from(header.linkname ?? "", "utf8"),
    uname: Buffer.from(header.uname ?? "", "utf8"),
    gname: Buffer.from(header.gname ?? "", "utf8"),
    mode: header.rawMode ?? header.mode ?? (type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644),
    uid: header.uid ?? 0,
    gid: header.gid ?? 0,
    size,
    mtime: header.mtime ?? new Date(0),
    devmajor: header.devmajor ?? 0,
    devminor: header.devminor ?? 0,
  };
  if (r.name.length === 0) throw invalid(label, "empty name");
  for (const [field, value] of [
    ["name", r.name],
    ["linkname", r.linkname],
    ["uname", r.uname],
    ["gname", r.gname],
  ] as const) {
    if (value.indexOf(0) !== -1) throw invalid(label, `${field} contains NUL`);
  }
  if ((type === "file" || type === "char" || type === "block" || type === "fifo") && r.name[r.name.length - 1] === 0x2f) {
    throw invalid(label, "filename may not have trailing slash");
  }
  for (const [field, value] of [
    ["mode", r.mode],
    ["devmajor", r.devmajor],
    ["devminor", r.devminor],
  ] as const) {
    if (!Number.isSafeInteger(value) || !fitsInOctal(8, value)) throw invalid(label, `${field} ${value} cannot be encoded`);
  }
  for (const [field, value] of [
    ["uid", r.uid],
    ["gid", r.gid],
    ["size", r.size],
  ] as const) {
    if (!Number.isSafeInteger(value)) throw invalid(label, `${field} ${value} is not an integer`);
  }
  if (r.size < 0) throw invalid(label, "negative size");
  if (Number.isNaN(r.mtime.getTime())) throw invalid(label, "invalid mtime");

  const records = new Map<string, Buffer>();
  let ustar = true;
  const text = (field: Buffer, size: number, key: string, canSplit = false) => {
    if (!isAscii(field) || field.length > size) {
      records.set(key, field);
      if (!canSplit || splitUstarPath(field) === undefined) ustar = false;
    }
  };
  text(r.name, 100, "path", true);
  text(r.linkname, 100, "linkpath");
  text(r.uname, 32, "uname");
  text(r.gname, 32, "gname");
  const numeric = (value: number, size: number, key: string) => {
    if (!fitsInOctal(size, value)) {
      records.set(key, Buffer.from(String(value)));
      ustar = false;
    }
  };
  numeric(r.uid, 8, "uid");
  numeric(r.gid, 8, "gid");
  numeric(r.size, 12, "size");
  const secs = Math.floor(r.mtime.getTime() / 1000);
  if (!fitsInOctal(12, secs) || r.mtime.getTime() % 1000 !== 0) {
    records.set("mtime", Buffer.from(formatPaxTime(r.mtime)));
    ustar = false;
  }
  for (const [key, value] of [
    ["atime", header.atime],
    ["ctime", header.ctime],
  ] as const) {
    if (value) {
      records.set(key, Buffer.from(formatPaxTime(value)));
      ustar = false;
    }
  }
  for (const [k, v] of Object.entries(header.xattrs ?? {})) {
    records.set(Buffer.from(`SCHILY.xattr.${k}`, "utf8").toString("latin1"), Buffer.from(v));
    ustar = false;
  }
  for (const [k, v] of Object.entries(header.pax ?? {})) {
    const key = Buffer.from(k, "utf8").toString("latin1");
    if (BASIC_KEYS.has(k) || records.has(key)) continue;
    records.set(key, Buffer.from(v, "utf8"));
    ustar = false;
  }
  for (const [k, v] of records) {
    if (!validPaxRecord(Buffer.from(k, "latin1"), v)) throw invalid(label, `invalid PAX record ${JSON.stringify(k)}`);
  }

  const blk = Buffer.alloc(BLOCK_SIZE);
  blk[F.typeflag[0]] = r.flag;
  formatOctal(blk, F.mode, r.mode);
  formatOctal(blk, F.uid, r.uid);
  formatOctal(blk, F.gid, r.gid);
  formatOctal(blk, F.size, r.size);
  formatOctal(blk, F.mtime, secs);
  formatOctal(blk, F.devmajor, r.devmajor);
  formatOctal(blk, F.devminor, r.devminor);
  setUstarMagic(blk);

  if (ustar) {
    const split = splitUstarPath(r.name);
    formatString(blk, F.name, split ? split[1] : r.name);
    if (split) formatString(blk, F.prefix, split[0]);
    formatString(blk, F.linkname, r.linkname);
    formatString(blk, F.uname, r.uname);
    formatString(blk, F.gname, r.gname);
    setChecksum(blk);
    return blk;
  }

  formatString(blk, F.name, toAscii(r.name));
  formatString(blk, F.linkname, toAscii(r.linkname));
  formatString(blk, F.uname, toAscii(r.uname));
  formatString(blk, F.gname, toAscii(r.gname));
  setChecksum(blk);

  const keys = [...records.keys()].sort();
  const data = Buffer.concat(keys.map((k) => formatPaxRecord(Buffer.from(k, "latin1"), records.get(k)!)));
  if (data.length > 1 << 20) throw invalid(label, "PAX records exceed 1 MiB");
  const x = Buffer.alloc(BLOCK_SIZE);
  x[F.typeflag[0]] = 0x78;
  formatString(x, F.name, paxHeaderName(r.name));
  formatOctal(x, F.mode, 0);
  formatOctal(x, F.uid, 0);
  formatOctal(x, F.gid, 0);
  formatOctal(x, F.size, data.length);
  formatOctal(x, F.mtime, 0);
  setUstarMagic(x);
  setChecksum(x);
  return Buffer.concat([x, data, ZEROS.subarray(0, blockPadding(data.length)), blk]);
}

/**
 * Writes a tar stream as Go's archive/tar Writer does (see {@link encodeTarHeader}): each entry's
 * header, its content, zero padding to the block, and two zero blocks at the end. A body whose
 * length differs from the header's size fails with `ERR_TAR_BODY_SIZE_MISMATCH` naming the entry.
 */
export async function* writeTar(entries: AsyncIterable<TarWriteEntry> | Iterable<TarWriteEntry>): AsyncGenerator<Uint8Array> {
  for await (const { header, body } of entries) {
    const isFile = header.type === "file";
    const bodyIsBytes = body instanceof Uint8Array;
    let size = 0;
    if (isFile) {
      if (header.size !== undefined) size = header.size;
      else if (bodyIsBytes) size = body.length;
      else if (body !== undefined) throw invalid(header.name, "a streamed body needs header.size");
    }
    const mismatch = (got: string) =>
      new TarError(TarErrorCode.BodySizeMismatch, `tar entry ${JSON.stringify(header.name)}: body has ${got} bytes, header says ${size}`, {
        details: { name: header.name, size },
      });
    const head = encodeTarHeader(header, size);
    const padding = ZEROS.subarray(0, blockPadding(size));

    if (bodyIsBytes || body === undefined) {
      const bytes = body ?? new Uint8Array(0);
      if (bytes.length !== size) throw mismatch(String(bytes.length));
      if (size <= COALESCE_LIMIT) {
        yield size === 0 ? head : Buffer.concat([head, bytes, padding]);
      } else {
        yield head;
        yield bytes;
        if (padding.length > 0) yield padding;
      }
      continue;
    }
    yield head;
    let seen = 0;
    for await (const chunk of body) {
      if (seen + chunk.length > size) throw mismatch(`more than ${size}`);
      seen += chunk.length;
      if (chunk.length > 0) yield chunk;
    }
    if (seen !== size) throw mismatch(String(seen));
    if (padding.length > 0) yield padding;
  }
  yield END_OF_ARCHIVE;
}
