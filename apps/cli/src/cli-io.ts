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
