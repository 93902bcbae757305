import { MetadataError, MetadataErrorCode } from "./errors";

/**
 * Longest key, in characters. Every key dockerd uses fits (the longest,
 * `distribution/v2metadata-by-diffid/sha512/<128 hex>`, has 170), and so does a key plus a bucket
 * prefix on every S3 server: Ceph RGW names the RADOS object `<bucket marker>_<key>`, and a
 * cluster with `osd max object name len = 460` (the setting for ext4-backed OSDs) answers 500 to
 * longer ones.
 */
export const maxKeyLength = 256;
/** Longest segment: a file name, with room for the fs driver's `.tmp-` and `.lock` additions. */
export const maxSegmentLength = 200;

// Printable ASCII without "/" and "\": the same key names the same record on every medium (a
// file name, an object key), and no byte needs escaping in either.
const segmentPattern = /^[\x21-\x2e\x30-\x5b\x5d-\x7e]+$/;

/**
 * Why `key` is not a valid record key, or undefined when it is. Keys are `/`-separated relative
 * names (`repositories.json`, `distribution/diffid-by-digest/sha256/<hex>`, `leases/host-a`):
 * no empty segment (so no leading, trailing or doubled `/`), no segment starting with `.` (which
 * rules out `.` and `..`, and keeps the fs driver's `.tmp-` files out of the namespace), none
 * ending in `.lock` (the fs driver's lock files), printable ASCII only.
 */
export function invalidKeyReason(key: unknown): string | undefined {
  if (typeof key !== "string") return "a key is a string";
  if (key === "") return "a key is not empty";
  if (key.length > maxKeyLength) return `a key has at most ${maxKeyLength} characters`;
  for (const segment of key.split("/")) {
    if (segment === "") return "a key has no empty segment (no leading, trailing or doubled /)";
    if (segment.startsWith(".")) return "no segment starts with . (no ., .. or hidden names)";
    if (segment.endsWith(".lock")) return "no segment ends in .lock (lock files)";
    if (segment.length > maxSegmentLength) return `a segment has at most ${maxSegmentLength} characters`;
    if (!segmentPattern.test(segment)) return "a key is printable ASCII without spaces or \\";
  }
  return undefined;
}

/** Whether `key` is a valid record key (see {@link invalidKeyReason}). */
export function isMetadataKey(key: unknown): key is string {
  return invalidKeyReason(key) === undefined;
}

/** Throws ERR_METADATA_INVALID_KEY naming `key` and why, unless it is a valid record key. */
export function assertMetadataKey(key: unknown): asserts key is string {
  const reason = invalidKeyReason(key);
  if (reason !== undefined) {
    throw new MetadataError(MetadataErrorCode.InvalidKey, `invalid metadata key ${JSON.stringify(key)}: ${reason}`, {
      details: { key },
    });
  }
}

/** A list prefix: "" (every key) or a valid key, whose records below `prefix/` are listed. */
export function assertListPrefix(prefix: unknown): asserts prefix is string {
  if (prefix !== "") assertMetadataKey(prefix);
}
