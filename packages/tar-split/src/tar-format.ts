/**
 * The tar header layout and the field codecs, read off Go's archive/tar (format.go, strconv.go)
 * because dockerd parses and writes tar with it: every accept/refuse decision here mirrors Go's.
 */

export const BLOCK_SIZE = 512;

/** Offsets and lengths of header fields. */
export const F = {
  name: [0, 100],
  mode: [100, 8],
  uid: [108, 8],
  gid: [116, 8],
  size: [124, 12],
  mtime: [136, 12],
  chksum: [148, 8],
  typeflag: [156, 1],
  linkname: [157, 100],
  magic: [257, 6],
  version: [263, 2],
  uname: [265, 32],
  gname: [297, 32],
  devmajor: [329, 8],
  devminor: [337, 8],
  prefix: [345, 155], // USTAR / PAX
  starPrefix: [345, 131],
  starAtime: [476, 12],
  starCtime: [488, 12],
  starTrailer: [508, 4],
  gnuAtime: [345, 12],
  gnuCtime: [357, 12],
} as const satisfies Record<string, readonly [number, number]>;

/** Header formats as Go's archive/tar guesses them from the magic (bit values as in Go). */
export const Format = { unknown: 0, v7: 1, ustar: 2, pax: 4, gnu: 8, star: 16 } as const;

const MAGIC_USTAR = [0x75, 0x73, 0x74, 0x61, 0x72, 0x00]; // "ustar\0"
const MAGIC_GNU = [0x75, 0x73, 0x74, 0x61, 0x72, 0x20]; // "ustar "
const TRAILER_STAR = [0x74, 0x61, 0x72, 0x00]; // "tar\0"

/** A field value Go's parser refused; the caller names the entry. */
export class FieldError extends Error {}

export function isZeroBlock(b: Uint8Array, off = 0): boolean {
  // Compare 32 bits at a time when aligned (the common case: blocks are views into large chunks).
  if ((b.byteOffset + off) % 4 === 0) {
    const words = new Uint32Array(b.buffer, b.byteOffset + off, BLOCK_SIZE / 4);
    for (let i = 0; i < words.length; i++) if (words[i] !== 0) return false;
    return true;
  }
  for (let i = off; i < off + BLOCK_SIZE; i++) if (b[i] !== 0) return false;
  return true;
}

function matches(b: Uint8Array, off: number, expected: readonly number[]): boolean {
  for (let i = 0; i < expected.length; i++) if (b[off + i] !== expected[i]) return false;
  return true;
}

/** Go's block.computeChecksum: unsigned and signed byte sums with the checksum field as spaces. */
export function computeChecksum(b: Uint8Array): { unsigned: number; signed: number } {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK_SIZE; i++) {
    const c = i >= 148 && i < 156 ? 0x20 : b[i]!;
    unsigned += c;
    signed += c >= 0x80 ? c - 256 : c;
  }
  return { unsigned, signed };
}

/** Go's block.getFormat: checksum verified (signed or unsigned), then the magic decides. */
export function detectFormat(b: Uint8Array): number {
  let value: number;
  try {
    value = parseOctal(b, F.chksum[0], F.chksum[1]);
  } catch {
    return Format.unknown;
  }
  const sums = computeChecksum(b);
  if (value !== sums.unsigned && value !== sums.signed) return Format.unknown;
  if (matches(b, F.magic[0], MAGIC_USTAR)) {
    return matches(b, F.starTrailer[0], TRAILER_STAR) ? Format.star : Format.ustar | Format.pax;
  }
  if (matches(b, F.magic[0], MAGIC_GNU) && b[263] === 0x20 && b[264] === 0x00) return Format.gnu;
  return Format.v7;
}

/** The bytes up to the first NUL (Go's parser.parseString), as a view. */
export function cString(b: Uint8Array, off: number, len: number): Uint8Array {
  const field = b.subarray(off, off + len);
  const nul = field.indexOf(0);
  return nul === -1 ? field : field.subarray(0, nul);
}

/** Go's parseNumeric: base-256 when the high bit is set, else octal. */
export function parseNumeric(b: Uint8Array, off: number, len: number): number {
  const first = b[off]!;
  if (len > 0 && first & 0x80) {
    // Two's complement big-endian; bit 0x40 of the first byte is the sign.
    const inv = first & 0x40 ? 0xff : 0;
    let x = 0;
    for (let i = 0; i < len; i++) {
      let c = b[off + i]! ^ inv;
      if (i === 0) c &= 0x7f;
      x = x * 256 + c;
      if (x > Number.MAX_SAFE_INTEGER) throw new FieldError("base-256 number too large");
    }
    return inv ? -x - 1 : x;
  }
  return parseOctal(b, off, len);
}

/** Go's parseOctal: trims spaces and NULs at both ends, stops at a NUL, then strict octal digits. */
export function parseOctal(b: Uint8Array, off: number, len: number): number {
  let start = off;
  let end = off + len;
  while (start < end && (b[start] === 0x20 || b[start] === 0)) start++;
  while (end > start && (b[end - 1] === 0x20 || b[end - 1] === 0)) end--;
  if (start === end) return 0;
  let x = 0;
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c === 0) break; // parseString after the trim
    if (c < 0x30 || c > 0x37) throw new FieldError("invalid octal digit");
    x = x * 8 + (c - 0x30);
  }
  if (x > Number.MAX_SAFE_INTEGER) throw new FieldError("octal number too large");
  return x;
}

/** strconv.ParseInt(s, 10, 64) for the decimals in PAX records. */
export function parseDecimal(s: string): number {
  if (!/^[+-]?[0-9]+$/.test(s)) throw new FieldError(`invalid decimal ${JSON.stringify(s)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw new FieldError(`decimal out of range ${JSON.stringify(s)}`);
  return n;
}

/** Go's parsePAXTime: "secs[.frac]" with at most nanosecond precision kept. */
export function parsePaxTime(s: string): { date: Date; nanos: number } {
  const dot = s.indexOf(".");
  const ss = dot === -1 ? s : s.slice(0, dot);
  const sn = dot === -1 ? "" : s.slice(dot + 1);
  const secs = parseDecimal(ss);
  if (sn.length === 0) return { date: new Date(secs * 1000), nanos: 0 };
  if (!/^[0-9]*$/.test(sn)) throw new FieldError(`invalid PAX time ${JSON.stringify(s)}`);
  let nanos = Number(`${sn}000000000`.slice(0, 9));
  if (ss.startsWith("-")) nanos = -nanos;
  return { date: new Date(secs * 1000 + Math.trunc(nanos / 1e6)), nanos };
}

/** The records "%d %s=%s\n" of a PAX header body, each checked as Go's parsePAXRecord does. */
export function parsePaxRecords(buf: Uint8Array): Array<[key: Uint8Array, value: Uint8Array]> {
  const out: Array<[Uint8Array, Uint8Array]> = [];
  let pos = 0;
  while (pos < buf.length) {
    const rest = buf.subarray(pos);
    const sp = rest.indexOf(0x20);
    if (sp === -1) throw new FieldError("PAX record without a length");
    const lenText = Buffer.from(rest.subarray(0, sp)).toString("latin1");
    if (!/^[+-]?[0-9]+$/.test(lenText)) throw new FieldError("PAX record with a bad length");
    const n = Number(lenText);
    if (!Number.isSafeInteger(n) || n < 5 || rest.length < n) throw new FieldError("PAX record with a bad length");
    const afterSpace = sp + 1;
    const beforeNewline = n - 1;
    if (afterSpace >= beforeNewline) throw new FieldError("PAX record with a bad length");
    if (rest[beforeNewline] !== 0x0a) throw new FieldError("PAX record not newline-terminated");
    const rec = rest.subarray(afterSpace, beforeNewline);
    const eq = rec.indexOf(0x3d);
    if (eq === -1) throw new FieldError("PAX record without '='");
    const key = rec.subarray(0, eq);
    const value = rec.subarray(eq + 1);
    if (!validPaxRecord(key, value)) throw new FieldError("invalid PAX record");
    out.push([key, value]);
    pos += n;
  }
  return out;
}

const NUL_VALUE_KEYS = new Set(["path", "linkpath", "uname", "gname"]);

/** Go's validPAXRecord on raw bytes. */
export function validPaxRecord(key: Uint8Array, value: Uint8Array): boolean {
  if (key.length === 0 || key.indexOf(0x3d) !== -1) return false;
  const k = Buffer.from(key).toString("latin1");
  if (NUL_VALUE_KEYS.has(k)) return value.indexOf(0) === -1;
  return key.indexOf(0) === -1;
}

/** Go's formatPAXRecord on raw bytes: the length prefix counts itself. */
export function formatPaxRecord(key: Uint8Array, value: Uint8Array): Buffer {
  const padding = 3; // ' ', '=', '\n'
  let size = key.length + value.length + padding;
  size += String(size).length;
  // Adding the length's own digits can add a digit to the length.
  const actual = String(size).length + key.length + value.length + padding;
  if (actual !== size) size = actual;
  const head = Buffer.from(`${size} `, "latin1");
  return Buffer.concat([head, key, Buffer.from("="), value, Buffer.from("\n")]);
}

/** Go's path.Clean on a byte string held as latin1 (names need not be UTF-8). */
export function goCleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.charCodeAt(0) === 0x2f;
  const parts = p.split("/");
  const out: string[] = [];
  for (const part of parts) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return `/${joined}`;
  return joined === "" ? "." : joined;
}

/** A tar block's padding after `size` content bytes. */
export function blockPadding(size: number): number {
  const rem = size % BLOCK_SIZE;
  return rem === 0 ? 0 : BLOCK_SIZE - rem;
}
