import type { IncomingMessage } from "node:http";
import type { Digest } from "@store/digest";

/** The headers every manifest and blob response carries: its digest, as digest and as ETag. */
export function digestHeaders(digest: Digest): Record<string, string> {
  return { "Docker-Content-Digest": digest.toString(), ETag: `"${digest}"` };
}

/**
 * Whether the client holds this content already (`If-None-Match` names its ETag, or `*`): then
 * a 304, as distribution answers for manifests. Content by digest never changes, so the ETag
 * is exact.
 */
export function notModified(req: IncomingMessage, digest: Digest): boolean {
  const header = req.headers["if-none-match"];
  if (header === undefined) return false;
  const etag = `"${digest}"`;
  return header
    .split(",")
    .map((s) => s.trim().replace(/^W\//, ""))
    .some((tag) => tag === "*" || tag === etag || tag === digest.toString());
}
