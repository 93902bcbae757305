import { isStoreError } from "@store/errors";
import { LayerErrorCode } from "@store/layer";
import { ArchiveError, ArchiveErrorCode } from "./errors";

/**
 * The archive's error for a layer the layer store refused before committing it (its diffID is
 * not the config's, or its blob not the descriptor's): `ERR_ARCHIVE_LAYER_MISMATCH`, naming the
 * layer (`what`), its file and both digests. Undefined for any other failure.
 */
export function layerRefusal(what: string, path: string, error: unknown): ArchiveError | undefined {
  if (isStoreError(error, LayerErrorCode.DiffIdMismatch)) {
    const { expected, actual } = error.details as { expected: string; actual: string };
    return new ArchiveError(ArchiveErrorCode.LayerMismatch, `${what}: invalid diffID: the config expects ${expected}, the layer file has ${actual}`, {
      cause: error,
      details: { file: path, expected, actual },
    });
  }
  if (isStoreError(error, LayerErrorCode.BlobMismatch)) {
    return new ArchiveError(ArchiveErrorCode.LayerMismatch, `${what}: ${error.message}`, {
      cause: error,
      details: { file: path, ...error.details },
    });
  }
  return undefined;
}
