/**
 * Pull-based reading over an async iterable of chunks. Bytes are handed out as views into the
 * source's chunks (never copied) unless a read straddles two chunks, so the parser costs no
 * copies for content, whatever the chunk size.
 */
const EMPTY = Buffer.alloc(0);

export function asBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}

/** Where tar bytes come from: a stream of chunks (a Node Readable qualifies) or one buffer. */
export type ByteSource = AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Uint8Array;

export class ByteReader {
  private readonly iterator: AsyncIterator<Uint8Array>;
  private chunk: Buffer = EMPTY;
  private pos = 0;
  private ended = false;
  /** Absolute offset of the next unread byte. */
  offset = 0;

  constructor(input: ByteSource) {
    // A Buffer is itself an Iterable (of numbers): treat it as one chunk.
    const source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> = input instanceof Uint8Array ? [input] : input;
    const asyncIt = (source as AsyncIterable<Uint8Array>)[Symbol.asyncIterator];
    if (typeof asyncIt === "function") {
      this.iterator = asyncIt.call(source);
    } else {
      const it = (source as Iterable<Uint8Array>)[Symbol.iterator]();
      this.iterator = {
        next: async () => it.next(),
        return: async () => it.return?.() ?? { done: true, value: undefined },
      };
    }
  }

  /** Bytes left in the current chunk (no pull). */
  get buffered(): number {
    return this.chunk.length - this.pos;
  }

  /** Makes at least one byte available unless the source is exhausted; returns how many are buffered. */
  async fill(): Promise<number> {
    while (this.chunk.length - this.pos === 0) {
      if (this.ended) return 0;
      const r = await this.iterator.next();
      if (r.done) {
        this.ended = true;
        this.chunk = EMPTY;
        this.pos = 0;
        return 0;
      }
      this.chunk = asBuffer(r.value);
      this.pos = 0;
    }
    return this.chunk.length - this.pos;
  }

  /** Up to `max` buffered bytes as a view, without pulling; empty when nothing is buffered. */
  takeBuffered(max: number): Buffer {
    const n = Math.min(max, this.chunk.length - this.pos);
    const view = this.chunk.subarray(this.pos, this.pos + n);
    this.pos += n;
    this.offset += n;
    return view;
  }

  /** Up to `max` bytes (at least one) as a view; null at the end of the source. */
  async read(max: number): Promise<Buffer | null> {
    if (this.chunk.length - this.pos === 0 && (await this.fill()) === 0) return null;
    return this.takeBuffered(max);
  }

  /**
   * Exactly `n` bytes, or fewer only at the end of the source. A view when they lie in one chunk;
   * a fresh copy when they straddle chunks.
   */
  async readExact(n: number): Promise<Buffer> {
    if (this.chunk.length - this.pos >= n) return this.takeBuffered(n);
    const parts: Buffer[] = [];
    let got = 0;
    while (got < n) {
      const view = await this.read(n - got);
      if (view === null) break;
      parts.push(view);
      got += view.length;
    }
    return parts.length === 1 ? parts[0]! : Buffer.concat(parts, got);
  }

  /** Skips `n` bytes, handing each piece to `onPiece`; returns how many were skipped (< n at the end). */
  async skip(n: number, onPiece?: (piece: Buffer) => void): Promise<number> {
    let done = 0;
    while (done < n) {
      const view = await this.read(n - done);
      if (view === null) break;
      onPiece?.(view);
      done += view.length;
    }
    return done;
  }

  /** Stops the source (its iterator's return), e.g. when parsing fails. */
  async close(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    this.chunk = EMPTY;
    this.pos = 0;
    await this.iterator.return?.();
  }
}
