import type { ServerResponse } from "node:http";

// Body bytes written per response, for the request record: counted here, where bodies are written.
const sent = new WeakMap<ServerResponse, number>();

/** Body bytes written to `res` so far (of a body cut short, what went out before the cut). */
export function bytesSent(res: ServerResponse): number {
  return sent.get(res) ?? 0;
}

function count(res: ServerResponse, bytes: number): void {
  sent.set(res, bytesSent(res) + bytes);
}

/** Thrown by {@link sendStream} when the client went away before the body was sent. */
export class ClientClosedError extends Error {
  constructor() {
    super("the client closed the connection");
  }
}

/** Resolves when `res` takes more, rejects once it never will (the connection closed). */
function writable(res: ServerResponse): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = () => {
      res.off("drain", settle);
      res.off("close", settle);
      if (res.destroyed) reject(new ClientClosedError());
      else resolve();
    };
    res.on("drain", settle);
    res.on("close", settle);
  });
}

/**
 * Writes `chunks` as the body of `res`, at the client's pace, and ends it. A loop rather than
 * stream.pipeline: pipeline may destroy its source before taking a first chunk, and a generator
 * never started never runs its `finally` — the backend's file handle (or S3 response) would stay
 * open. Here the source is always started, and left through `for await` (its `return()`) on every
 * way out, so what it holds is released when the client disconnects mid-blob.
 */
export async function sendStream(res: ServerResponse, chunks: AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of chunks) {
    if (res.destroyed) throw new ClientClosedError();
    count(res, chunk.byteLength);
    if (!res.write(chunk)) await writable(res);
  }
  await new Promise<void>((resolve, reject) => {
    res.end(() => resolve());
    res.once("close", () => (res.writableFinished ? resolve() : reject(new ClientClosedError())));
  });
}

/** Sends a small body whole, with its length. */
export function sendBytes(res: ServerResponse, status: number, headers: Record<string, string>, body: Uint8Array | string, head = false): void {
  const bytes = typeof body === "string" ? Buffer.from(body) : body;
  res.writeHead(status, { ...headers, "Content-Length": String(bytes.byteLength) });
  if (head) res.end();
  else {
    count(res, bytes.byteLength);
    res.end(bytes);
  }
}

/** Sends `value` as a JSON body (`application/json`). */
export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}, head = false): void {
  sendBytes(res, status, { "Content-Type": "application/json", ...headers }, JSON.stringify(value), head);
}
