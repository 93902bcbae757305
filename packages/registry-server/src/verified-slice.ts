import type { ByteRange } from "./byte-range";

/**
 * The bytes of `range` (all of them without one) from a verified stream of the whole content,
 * holding back the last chunk until the source has ended cleanly. A StoreBackend stream throws
 * its digest mismatch only after its last chunk; released early, that chunk would complete the
 * response's `Content-Length`, and the client would take damaged content as whole. Held back,
 * a mismatch leaves the response short, and the client sees a broken transfer.
 *
 * So the whole content is read even for a range that ends early: a range cannot be verified
 * alone. Registry clients ask for ranges to resume (`bytes=<offset>-`), where that costs nothing
 * more than the skipped prefix's read.
 */
export async function* verifiedSlice(source: AsyncIterable<Uint8Array>, range?: ByteRange): AsyncGenerator<Uint8Array> {
  const start = range?.start ?? 0;
  const end = range === undefined ? Number.POSITIVE_INFINITY : range.end + 1;
  let offset = 0;
  let held: Uint8Array | undefined;
  for await (const chunk of source) {
    const from = Math.max(start - offset, 0);
    const to = Math.min(end - offset, chunk.byteLength);
    offset += chunk.byteLength;
    if (to <= from) continue;
    if (held !== undefined) yield held;
    held = from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to);
  }
  if (held !== undefined) yield held;
}
