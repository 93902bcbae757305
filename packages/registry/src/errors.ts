import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const RegistryErrorCode = {
  // --- Manifests and platforms (src/manifest, src/platform) ---
  /** A manifest or index that is not valid JSON of its type: a missing or mistyped field, a bad digest or size. */
  ManifestInvalid: "ERR_REGISTRY_MANIFEST_INVALID",
  /** A manifest of a media type this client does not read (neither Docker schema2 nor OCI). */
  ManifestUnsupported: "ERR_REGISTRY_MANIFEST_UNSUPPORTED",
  /** A Docker image manifest v2 schema 1 (or image format v1): refused, as dockerd refuses it. */
  Schema1Unsupported: "ERR_REGISTRY_SCHEMA1_UNSUPPORTED",
  /** A layer of a media type no image layer has (moby: "unsupported media type"). */
  LayerUnsupported: "ERR_REGISTRY_LAYER_UNSUPPORTED",
  /** A `--platform` value docker would refuse (containerd's platforms.Parse). */
  PlatformInvalid: "ERR_REGISTRY_PLATFORM_INVALID",
  /** An index with no entry for the platform asked for ("no matching manifest for linux/arm64 in the manifest list entries"). */
  PlatformNotFound: "ERR_REGISTRY_PLATFORM_NOT_FOUND",
  // --- end of manifests and platforms ---
} as const;
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const RegistryErrorKind: Partial<Record<RegistryErrorCode, ErrorKind>> = {};

/** Every error this package throws; branch on `code`. */
export class RegistryError extends StoreError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? RegistryErrorKind[code];
    super(code, message, kind === undefined ? options : { ...options, kind });
  }
}
