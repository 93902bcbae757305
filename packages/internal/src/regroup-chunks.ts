/**
 * `source` regrouped into chunks of `size` bytes, for consumers that pay a fixed cost per chunk
 * (a write, a hash update, a request): small chunks are gathered (one copy), a chunk already as
 * large passes through untouched. With `exact`, every chunk but the last is exactly `size`
 * bytes (chunked uploads); otherwise a chunk may be larger. The last may be shorter.
 */
export async function* regroupChunks(source: AsyncIterable<Uint8Array>, size: number, options: { exact?: boolean } = {}): AsyncGenerator<Uint8Array> {
  if (!(size > 0)) throw new RangeError(`regroupChunks: size must be positive, got ${size}`);
  let parts: Uint8Array[] = [];
  let held = 0;
  for await (const chunk of source) {
    if (held === 0 && chunk.byteLength >= size && !options.exact) {
      yield chunk;
      continue;
    }
    parts.push(chunk);
    held += chunk.byteLength;
    if (held < size) continue;
    let gathered: Uint8Array = parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
    parts = [];
    held = 0;
    if (options.exact) {
      while (gathered.byteLength >= size) {
        yield gathered.subarray(0, size);
        gathered = gathered.subarray(size);
      }
      if (gathered.byteLength > 0) {
        parts.push(gathered);
        held = gathered.byteLength;
      }
    } else {
      yield gathered;
    }
  }
  if (held > 0) yield parts.length === 1 ? parts[0]! : Buffer.concat(parts, held);
}
