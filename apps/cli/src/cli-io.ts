import type { Readable, Writable } from "node:stream";

/** A stream that may be a terminal (process.stdout and friends are; test captures are not). */
export type TtyWritable = Writable & { isTTY?: boolean; columns?: number };
export type TtyReadable = Readable & { isTTY?: boolean };

/**
 * Everything a command touches outside the store: its three streams and its environment. The
 * binary passes the process's own; tests pass captures, so commands run in-process.
 */
export interface CliIO {
  stdout: TtyWritable;
  stderr: TtyWritable;
  stdin: TtyReadable;
  env: Readonly<Record<string, string | undefined>>;
  /**
   * Aborted on Ctrl-C or SIGTERM: long commands stop at the next chunk and undo their work
   * (a half-extracted layer is removed), instead of the process dying with it on disk.
   */
  signal?: AbortSignal;
}

/**
 * `source`, failing with the signal's reason as soon as `signal` is aborted — also while waiting
 * for a chunk that may never come (a pipe left open), which is when Ctrl-C matters most.
 */
export async function* abortable<T>(source: AsyncIterable<T>, signal: AbortSignal | undefined): AsyncGenerator<T> {
  if (!signal) {
    yield* source;
    return;
  }
  signal.throwIfAborted();
  const iterator = source[Symbol.asyncIterator]();
  try {
    for (;;) {
      // A fresh abort promise per read, its listener removed after: racing one long-lived
      // promise would keep a handler per chunk alive (millions for a big save).
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<never>((_, reject) => {
        onAbort = () => reject(signal.reason);
        signal.addEventListener("abort", onAbort, { once: true });
      });
      let next: IteratorResult<T>;
      try {
        next = await Promise.race([iterator.next(), aborted]);
      } finally {
        signal.removeEventListener("abort", onAbort!);
      }
      if (next.done) return;
      yield next.value;
    }
  } finally {
    // Stops the source (a stream is destroyed), which also ends a read still pending.
    await Promise.race([iterator.return?.(), new Promise((r) => setTimeout(r, 100))]).catch(() => undefined);
  }
}

/** Writes `text` and waits for the stream to take it (a huge `save` to a pipe must not buffer whole). */
export function write(stream: Writable, text: string | Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(text, (error) => (error ? reject(error) : resolve()));
  });
}

/** Writes `lines`, each followed by a newline, in one write. */
export function writeLines(stream: Writable, lines: readonly string[]): Promise<void> {
  return lines.length === 0 ? Promise.resolve() : write(stream, `${lines.join("\n")}\n`);
}
