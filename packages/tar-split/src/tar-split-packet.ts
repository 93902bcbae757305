import { goJsonString } from "@store/internal";
import { TarError, TarErrorCode } from "./errors";

/**
 * The records of vbatts/tar-split's JSON format (tar/storage/entry.go). Written one JSON object
 * per line with Go's encoding/json, keys in struct order: type, name, name_raw, size, payload,
 * position.
 */
export const TarSplitPacketType = {
  /** A file entry: its name, size and the CRC-64 of its content (the content itself is not stored). */
  File: 1,
  /** Raw bytes of the archive, written back verbatim: headers, padding, end blocks, trailing bytes. */
  Segment: 2,
} as const;

export interface TarSplitSegment {
  type: 2;
  payload: Uint8Array;
  /** Go's counter from 0; readers go by line order. */
  position: number;
}

export interface TarSplitFile {
  type: 1;
  /** The entry's name as Go's archive/tar reports it; empty when `nameRaw` holds it instead. */
  name: string;
  /** The name's bytes when they are not valid UTF-8 (`name_raw`, base64 in JSON). */
  nameRaw?: Uint8Array;
  /** Content size (the header's size; 0 is omitted in JSON). */
  size: number;
  /** 8-byte big-endian CRC-64/ISO of the content when size > 0, else null. */
  payload: Uint8Array | null;
  position: number;
}

export type TarSplitPacket = TarSplitSegment | TarSplitFile;

function base64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** One packet as Go's json.Encoder writes it, newline included. */
export function encodeTarSplitPacket(p: TarSplitPacket): string {
  if (p.type === TarSplitPacketType.Segment) {
    return `{"type":2,"payload":"${base64(p.payload)}","position":${p.position}}\n`;
  }
  let out = '{"type":1';
  if (p.nameRaw && p.nameRaw.length > 0) out += `,"name_raw":"${base64(p.nameRaw)}"`;
  else if (p.name !== "") out += `,"name":${goJsonString(p.name)}`;
  if (p.size !== 0) out += `,"size":${p.size}`;
  out += p.payload === null ? ',"payload":null' : `,"payload":"${base64(p.payload)}"`;
  return `${out},"position":${p.position}}\n`;
}

/** The uncompressed tar-split: one JSON line per packet. */
export function encodeTarSplitLines(packets: Iterable<TarSplitPacket>): string {
  let out = "";
  for (const p of packets) out += encodeTarSplitPacket(p);
  return out;
}

function invalid(line: number, message: string, cause?: unknown): TarError {
  return new TarError(TarErrorCode.InvalidTarSplit, `tar-split line ${line}: ${message}`, {
    details: { line },
    ...(cause === undefined ? {} : { cause }),
  });
}

function decodeBase64(value: unknown, line: number, key: string): Uint8Array | null {
  if (value === null || value === undefined) return null;
  if (typeof value !== "string" || !/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw invalid(line, `"${key}" is not base64`);
  }
  const b = Buffer.from(value, "base64");
  return new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
}

/**
 * Parses one JSON line of a tar-split file as Go's reader does: unknown keys ignored, `name_raw`
 * preferred over `name`, a missing `size` is 0, a missing or null segment payload is empty.
 * `line` (0-based) stands in for a missing position and names the line in errors.
 */
export function decodeTarSplitPacket(text: string, line: number): TarSplitPacket {
  let o: unknown;
  try {
    o = JSON.parse(text);
  } catch (error) {
    throw invalid(line, "not JSON", error);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw invalid(line, "not a JSON object");
  const r = o as Record<string, unknown>;
  const position = r.position === undefined || r.position === null ? line : r.position;
  if (typeof position !== "number" || !Number.isSafeInteger(position)) throw invalid(line, '"position" is not an integer');
  if (r.type === TarSplitPacketType.Segment) {
    return { type: 2, payload: decodeBase64(r.payload, line, "payload") ?? new Uint8Array(0), position };
  }
  if (r.type === TarSplitPacketType.File) {
    const size = r.size === undefined || r.size === null ? 0 : r.size;
    if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) throw invalid(line, '"size" is not a non-negative integer');
    const name = r.name === undefined || r.name === null ? "" : r.name;
    if (typeof name !== "string") throw invalid(line, '"name" is not a string');
    const nameRaw = decodeBase64(r.name_raw, line, "name_raw");
    const payload = decodeBase64(r.payload, line, "payload");
    const p: TarSplitFile = { type: 1, name, size, payload, position };
    if (nameRaw && nameRaw.length > 0) p.nameRaw = nameRaw;
    return p;
  }
  throw invalid(line, `unknown packet type ${JSON.stringify(r.type)}`);
}
