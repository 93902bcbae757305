import { type Digest, type DigestLike, toDigest } from "@store/digest";
import type { Compression } from "./decompress";
import { LayerError, LayerErrorCode } from "./errors";

/**
 * What a layer must turn out to be, as the image that names it says (containerd's
 * `Commit(size, expected)`): checked after extraction and before anything is committed, so a
 * mismatch leaves no layerdb entry, no driver directory and no handle.
 */
export interface ExpectedLayer {
  /** The digest of the uncompressed tar: the image config's `rootfs.diff_ids` entry. */
  diffId?: DigestLike;
  /** The bytes as received, compressed or not: a manifest descriptor's `digest` and `size`. */
  blob?: { digest?: DigestLike; size?: number };
}

/** The bytes of a layer as they were received (compressed, if they were). */
export interface LayerBlob {
  digest: Digest;
  size: number;
}

/** An {@link ExpectedLayer} with its digests parsed, once, at the edge. */
export interface Expectation {
  diffId?: Digest;
  blobDigest?: Digest;
  blobSize?: number;
}

/** What extraction found, to check against an {@link Expectation}. */
export interface ExtractedFacts {
  diffId: Digest;
  blob: LayerBlob;
  compression: Compression;
}

/** Parses an {@link ExpectedLayer} before any byte is read: a malformed digest or size is refused up front. */
export function parseExpected(expected: ExpectedLayer | undefined): Expectation {
  if (!expected) return {};
  const out: Expectation = {};
  if (expected.diffId !== undefined) out.diffId = toDigest(expected.diffId);
  if (expected.blob?.digest !== undefined) out.blobDigest = toDigest(expected.blob.digest);
  const size = expected.blob?.size;
  if (size !== undefined) {
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new LayerError(LayerErrorCode.InvalidArgument, `expected blob size ${String(size)} is not a byte count`, { details: { size } });
    }
    out.blobSize = size;
  }
  return out;
}

/** The error for bytes as received that run past the expected size, thrown as soon as they do. */
export function blobTooLong(expected: number, size: number): LayerError {
  return new LayerError(LayerErrorCode.BlobMismatch, `layer blob size mismatch: expected ${expected} bytes, got more (${size} read so far)`, {
    details: { expectedSize: expected, actualSize: size },
  });
}

/**
 * Throws `ERR_LAYER_BLOB_MISMATCH` or `ERR_LAYER_DIFF_ID_MISMATCH`, naming both values, when what
 * was extracted is not what was expected. The blob is checked first: when the bytes as received
 * are damaged the diffID is wrong too, and the blob says where the damage is.
 */
export function checkExpected(actual: ExtractedFacts, expected: Expectation): void {
  const { blob, compression } = actual;
  if (expected.blobSize !== undefined && blob.size !== expected.blobSize) {
    throw new LayerError(LayerErrorCode.BlobMismatch, `layer blob size mismatch: expected ${expected.blobSize} bytes, got ${blob.size} (${blob.digest})`, {
      details: { expectedSize: expected.blobSize, actualSize: blob.size, actual: blob.digest.toString(), compression },
    });
  }
  if (expected.blobDigest && !expected.blobDigest.equals(blob.digest)) {
    throw new LayerError(
      LayerErrorCode.BlobMismatch,
      `layer blob digest mismatch: expected ${expected.blobDigest}, got ${blob.digest} (${blob.size} bytes, ${compressionName(compression)})`,
      {
        details: { expected: expected.blobDigest.toString(), actual: blob.digest.toString(), size: blob.size, compression },
      },
    );
  }
  if (expected.diffId && !expected.diffId.equals(actual.diffId)) {
    throw new LayerError(LayerErrorCode.DiffIdMismatch, `layer diffID mismatch: expected ${expected.diffId}, got ${actual.diffId}`, {
      details: { expected: expected.diffId.toString(), actual: actual.diffId.toString() },
    });
  }
}

function compressionName(compression: Compression): string {
  return compression === "none" ? "uncompressed" : compression;
}
