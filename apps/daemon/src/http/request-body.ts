import type { IncomingMessage } from "node:http";
import { DaemonError, DaemonErrorCode } from "../errors";

/**
 * A small JSON request body (`POST /auth`, push's legacy auth body), at most `limit` bytes. An
 * empty body is undefined; one that is not JSON, or longer, is a 400.
 */
export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw new DaemonError(DaemonErrorCode.InvalidParameter, `request body longer than ${limit} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "") return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid JSON body: ${(e as Error).message}`);
  }
}
