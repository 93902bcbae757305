/**
 * The first `atLeast` bytes of a stream (fewer only if it ends sooner), gathered from as many
 * chunks as it takes, and the whole stream again from its first byte: enough to look at a magic
 * number or a tar header without losing what was read.
 */
export async function peekHead(source: AsyncIterable<Uint8Array>, atLeast: number): Promise<{ head: Uint8Array; stream: AsyncIterable<Uint8Array> }> {
  const it = source[Symbol.asyncIterator]();
  const parts: Uint8Array[] = [];
  let length = 0;
  let ended = false;
  while (length < atLeast) {
    const r = await it.next();
    if (r.done) {
      ended = true;
      break;
    }
    parts.push(r.value);
    length += r.value.byteLength;
  }
  const head = parts.length === 1 ? parts[0]! : Buffer.concat(parts);
  const stream = (async function* (): AsyncGenerator<Uint8Array> {
    if (head.byteLength > 0) yield head;
    if (ended) return;
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      yield r.value;
    }
  })();
  return { head, stream };
}
