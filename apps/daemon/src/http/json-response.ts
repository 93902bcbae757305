import type { ServerResponse } from "node:http";

/**
 * A value as dockerd's WriteJSON writes it: Go's json.Encoder with HTML escaping off, plus the
 * newline the encoder ends with. JSON.stringify matches it except for U+2028 and U+2029, which Go
 * always escapes. Values come from @store/image with their keys in Go's struct order already.
 */
export function goJson(value: unknown): string {
  return `${JSON.stringify(value)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029")}\n`;
}

/**
 * Writes `value` as a JSON response. The Content-Type is exactly `application/json`: the docker
 * CLI parses an error body only then, and prints `{"message":…}` raw for any charset suffix.
 */
export function writeJson(res: ServerResponse, status: number, value: unknown): void {
  writeJsonBytes(res, status, Buffer.from(goJson(value)));
}

/** {@link writeJson} of a body serialised already (by {@link goJson}). */
export function writeJsonBytes(res: ServerResponse, status: number, body: Buffer): void {
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": body.byteLength });
  res.end(body);
}

/** An error response: `{"message": …}`, as dockerd's errorhandler. */
export function writeError(res: ServerResponse, status: number, message: string): void {
  writeJson(res, status, { message });
}
