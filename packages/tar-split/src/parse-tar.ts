import type { ByteSource } from "./byte-reader";
import type { TarEntry } from "./tar-entry";
import { TarReader, type TarReaderOptions } from "./tar-reader";

export interface ParseTarOptions extends TarReaderOptions {
  /**
   * Read the input to its end after the archive's end blocks (default false). Turn it on when
   * something upstream (a hash) must see every byte.
   */
  drain?: boolean;
}

/**
 * Parses a tar stream entry by entry, deciding what Go's archive/tar decides (so what dockerd
 * accepts): ustar, GNU (long names and links, base-256 numbers, old GNU magic), PAX (`x`
 * per-entry records applied, `g` global headers reported to `onGlobalHeader` and otherwise
 * ignored, as dockerd does), checksums signed or unsigned. Sparse files and typeflags dockerd
 * cannot apply are refused with `ERR_TAR_UNSUPPORTED`; malformed headers with
 * `ERR_TAR_INVALID_HEADER`; an archive ending inside a header or content with `ERR_TAR_TRUNCATED`.
 *
 * Content comes as views into the input's chunks: read each body fully or not at all (it is
 * skipped when the next entry is requested).
 */
export async function* parseTar(source: ByteSource, options: ParseTarOptions = {}): AsyncGenerator<TarEntry> {
  const reader = new TarReader(source, undefined, options);
  try {
    for (;;) {
      const entry = await reader.next();
      if (entry === null) break;
      yield { header: entry.header, body: reader.body(entry) };
    }
    if (options.drain) await reader.drain();
  } finally {
    await reader.close();
  }
}
