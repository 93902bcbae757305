import type { GoTime } from "@store/image";
import { type TarWriteEntry, writeTar } from "@store/tar-split";
import { compareGoStrings } from "@store/internal";

/** One entry of an archive being written; a streamed body is opened only when its turn comes. */
export interface ArchiveEntry {
  header: TarWriteEntry["header"];
  body?: Uint8Array | (() => AsyncIterable<Uint8Array>);
}

// What dockerd's archive.Tar writes for the files of its export dir: root-owned, the mode field
// with Go's file-type bits, user and group names looked up on the host (root on any Linux).
const OWNER = { uid: 0, gid: 0, uname: "root", gname: "root" } as const;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

/** A time as a tar header holds it: whole seconds (moby truncates), whatever the zone. */
export function tarTime(t: GoTime): Date {
  return new Date(t.seconds * 1000);
}

export const epoch: GoTime = { seconds: 0, nanos: 0, offset: 0 };

export function dirEntry(name: string, mtime: GoTime): ArchiveEntry {
  return { header: { name: `${name}/`, type: "directory", rawMode: S_IFDIR | 0o755, mode: 0o755, mtime: tarTime(mtime), ...OWNER } };
}

export function fileEntry(name: string, body: Uint8Array | string, mtime: GoTime): ArchiveEntry {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  return { header: { name, type: "file", rawMode: S_IFREG | 0o644, mode: 0o644, size: bytes.byteLength, mtime: tarTime(mtime), ...OWNER }, body: bytes };
}

export function streamEntry(name: string, size: number, open: () => AsyncIterable<Uint8Array>, mtime: GoTime): ArchiveEntry {
  return { header: { name, type: "file", rawMode: S_IFREG | 0o644, mode: 0o644, size, mtime: tarTime(mtime), ...OWNER }, body: open };
}

export function symlinkEntry(name: string, target: string, mtime: GoTime): ArchiveEntry {
  return {
    header: { name, type: "symlink", linkname: target, rawMode: S_IFLNK | 0o777, mode: 0o777, mtime: tarTime(mtime), ...OWNER },
  };
}

/** Go's filepath.Walk order: names compared per directory level, a directory before its contents. */
export function walkOrder(a: ArchiveEntry, b: ArchiveEntry): number {
  const x = a.header.name.replace(/\/$/, "").split("/");
  const y = b.header.name.replace(/\/$/, "").split("/");
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const c = compareGoStrings(x[i]!, y[i]!);
    if (c !== 0) return c;
  }
  return x.length - y.length;
}

/** The archive's bytes: each streamed body is opened as its entry is written. */
export function writeEntries(entries: readonly ArchiveEntry[]): AsyncGenerator<Uint8Array> {
  return writeTar(
    (function* () {
      for (const e of entries) {
        yield { header: e.header, ...(e.body === undefined ? {} : { body: typeof e.body === "function" ? e.body() : e.body }) };
      }
    })(),
  );
}
