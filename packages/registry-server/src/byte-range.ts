/** An inclusive byte range of content, as `Content-Range` states it. */
export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

const single = /^bytes=(\d*)-(\d*)$/;

/**
 * The range a `Range` header asks of content of `size` bytes (RFC 9110 §14.2): `a-b`, `a-` or the
 * suffix `-n`, with `b` clamped to the last byte. `undefined` means "send it all": no header, or
 * several ranges (a server may ignore Range; no registry client asks for more than one).
 * `"unsatisfiable"` (→ 416) for a start past the end, an empty suffix, or a malformed range, as
 * Go's http.ServeContent (which distribution serves blobs with) answers them.
 */
export function parseByteRange(header: string | undefined, size: number): ByteRange | "unsatisfiable" | undefined {
  if (header === undefined) return undefined;
  const text = header.trim();
  if (text.startsWith("bytes=") && text.includes(",")) return undefined;
  const m = single.exec(text);
  if (!m) return "unsatisfiable";
  const [, first, last] = m as unknown as [string, string, string];
  if (first === "") {
    // A suffix: the last n bytes.
    if (last === "") return "unsatisfiable";
    const n = Number(last);
    if (n === 0) return "unsatisfiable";
    return { start: Math.max(size - n, 0), end: size - 1 };
  }
  const start = Number(first);
  if (!Number.isSafeInteger(start) || start >= size) return "unsatisfiable";
  if (last === "") return { start, end: size - 1 };
  const end = Number(last);
  if (end < start) return "unsatisfiable";
  return { start, end: Math.min(end, size - 1) };
}
