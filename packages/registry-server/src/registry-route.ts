/** What a request path names, before any of its parts is validated. */
export type RegistryRoute =
  | { kind: "base" }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; reference: string }
  | { kind: "upload"; name: string }
  | { kind: "tags"; name: string }
  | { kind: "unknown" };

// The reference and digest cannot hold "/", the name can: the last "/manifests/" or "/blobs/"
// splits them, so a repository named `a/manifests/b` still routes (distribution's router agrees).
const manifestPath = /^\/v2\/(.+)\/manifests\/([^/]+)$/;
const uploadPath = /^\/v2\/(.+)\/blobs\/uploads(?:\/.*)?$/;
const blobPath = /^\/v2\/(.+)\/blobs\/([^/]+)$/;
const tagsPath = /^\/v2\/(.+)\/tags\/list$/;

/** The longest path routed; no valid request comes near it, and it keeps the patterns cheap. */
export const maxPathLength = 2048;

/**
 * The route of a request path (the URL's path, still percent-encoded). Only the shape is
 * checked here; names, tags and digests are validated by the handlers, which say which was bad.
 */
export function parseRoute(path: string): RegistryRoute {
  if (path === "/v2/" || path === "/v2") return { kind: "base" };
  if (!path.startsWith("/v2/") || path.length > maxPathLength) return { kind: "unknown" };
  let m = manifestPath.exec(path);
  if (m) return { kind: "manifest", name: m[1]!, reference: m[2]! };
  m = uploadPath.exec(path);
  if (m) return { kind: "upload", name: m[1]! };
  m = blobPath.exec(path);
  if (m) return { kind: "blob", name: m[1]!, reference: m[2]! };
  m = tagsPath.exec(path);
  if (m) return { kind: "tags", name: m[1]! };
  return { kind: "unknown" };
}
