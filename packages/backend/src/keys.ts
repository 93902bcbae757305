import type { Digest } from "@store/digest";
import { isSafeName } from "@store/internal";
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

/** Throws ERR_BACKEND_INVALID_KEY unless `key` is a safe single path component. */
export function assertMetadataKey(key: string): void {
  if (!isSafeName(key)) {
    throw new BackendError(
      BackendErrorCode.InvalidKey,
      `invalid metadata key ${JSON.stringify(key)}: use letters, digits, '.', '_' and '-', not starting with '.' (at most 255)`,
      { details: { key } },
    );
  }
}
