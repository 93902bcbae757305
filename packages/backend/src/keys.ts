import type { Digest } from "@store/digest";
import { BackendError, BackendErrorCode } from "./errors";

// dockerd's imagedb layout, shared by every driver so that a store copied between media
// (a bucket synced to disk, say) stays valid. Exported: drivers stage beside `contentRoot`, and
// image restore names the key a problem came from; the rest is the backend's own.
export const contentRoot = "content";
export const metadataRoot = "metadata";

/** The driver key of content `id` (`content/sha256/<hex>`): a path relative to an imagedb root. */
export function contentKey(id: Digest): string {
  return `${contentRoot}/${id.algorithm}/${id.encoded}`;
}

export function metadataPrefix(id: Digest): string {
  return `${metadataRoot}/${id.algorithm}/${id.encoded}`;
}

/** The driver key of metadata `key` of content `id` (`metadata/sha256/<hex>/<key>`). */
export function metadataKey(id: Digest, key: string): string {
  return `${metadataPrefix(id)}/${key}`;
}

// dockerd never validates metadata keys; we must, or a key like "../../x" writes outside the
// store. A leading "." is refused too: it covers "." and "..", and keeps keys clear of the
// ".tmp-" names of atomic writes.
const validKey = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,254}$/;

/** Throws ERR_BACKEND_INVALID_KEY unless `key` is a safe single path component. */
export function assertMetadataKey(key: string): void {
  if (typeof key !== "string" || !validKey.test(key)) {
    throw new BackendError(
      BackendErrorCode.InvalidKey,
      `invalid metadata key ${JSON.stringify(key)}: use letters, digits, '.', '_' and '-', not starting with '.' (at most 255)`,
      { details: { key } },
    );
  }
}
