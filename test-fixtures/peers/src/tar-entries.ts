import type { TarEntry, TarEntryType, TarHeader } from "@store/tar-split";

/** A tar entry written by hand in a test: only `name` is required. */
export interface EntrySpec extends Partial<Omit<TarHeader, "name" | "type">> {
  name: string;
  /** Defaults to "directory" for names ending in `/`, else "file". */
  type?: TarEntryType;
  /** Content of a regular file. */
  content?: string | Uint8Array;
}

const typeflags: Record<TarEntryType, string> = {
  file: "0",
  hardlink: "1",
  symlink: "2",
  char: "3",
  block: "4",
  directory: "5",
  fifo: "6",
};

/** The header a spec stands for, with the defaults a plain `tar` would write. */
export function entryHeader(spec: EntrySpec): TarHeader {
  const { content, ...rest } = spec;
  const type = spec.type ?? (spec.name.endsWith("/") ? "directory" : "file");
  const size = typeof content === "string" ? Buffer.byteLength(content) : (content?.length ?? 0);
  return {
    typeflag: typeflags[type],
    mode: type === "directory" ? 0o755 : type === "symlink" ? 0o777 : 0o644,
    uid: 0,
    gid: 0,
    uname: "",
    gname: "",
    size,
    mtime: new Date("2020-01-02T03:04:05Z"),
    linkname: "",
    devmajor: 0,
    devminor: 0,
    xattrs: {},
    pax: {},
    ...rest,
    type,
  };
}

/** A TarEntry stream from specs, as `parseTar` would yield it (content read lazily). */
export async function* tarEntries(specs: Iterable<EntrySpec>): AsyncGenerator<TarEntry> {
  for (const spec of specs) {
    const content = typeof spec.content === "string" ? Buffer.from(spec.content) : spec.content;
    yield {
      header: entryHeader(spec),
      body: (async function* () {
        if (content !== undefined && content.length > 0) yield content;
      })(),
    };
  }
}
