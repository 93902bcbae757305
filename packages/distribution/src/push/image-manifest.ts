import { type Digest, digestFromBytes } from "@store/digest";

/** A descriptor in an image manifest: its config or one of its layers. */
export interface ManifestDescriptor {
  mediaType: string;
  size: number;
  digest: Digest | string;
}

/** An image manifest as bytes, with the digest and media type it goes by. */
export interface EncodedManifest {
  bytes: Uint8Array;
  digest: Digest;
  mediaType: string;
}

/**
 * The image manifest (Docker schema2 or OCI, by `mediaType`) for a config and its layers, encoded
 * as moby encodes it: these key orders, three-space indentation. Registries and clients address
 * a manifest by the hash of exactly these bytes, so every writer (push, the shared tier) makes
 * them here.
 */
export function encodeImageManifest(mediaType: string, config: ManifestDescriptor, layers: readonly ManifestDescriptor[]): EncodedManifest {
  const descriptor = (d: ManifestDescriptor) => ({ mediaType: d.mediaType, size: d.size, digest: d.digest.toString() });
  const body = { schemaVersion: 2, mediaType, config: descriptor(config), layers: layers.map(descriptor) };
  const bytes = Buffer.from(JSON.stringify(body, null, 3));
  return { bytes, digest: digestFromBytes(bytes), mediaType };
}
