import { isImageManifestMediaType, isIndexMediaType, isSchema1MediaType, MediaType } from "@store/registry";

const utf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The media type stored manifest bytes declare, for the `Content-Type` they are served with:
 * their `mediaType` field when it names a manifest or an index; for an OCI manifest or index
 * written without one (the field is optional in image-spec 1.0), the type its shape says.
 * Undefined when the bytes are not a manifest at all (a config or a layer asked for under
 * `/manifests/`), which the registry answers as an unknown manifest.
 */
export function manifestMediaType(bytes: Uint8Array): string | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(utf8.decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) return undefined;
  const fields = doc as Record<string, unknown>;
  const declared = fields.mediaType;
  if (typeof declared === "string") {
    return isImageManifestMediaType(declared) || isIndexMediaType(declared) || isSchema1MediaType(declared) ? declared : undefined;
  }
  if (fields.schemaVersion === 2) {
    if (Array.isArray(fields.manifests)) return MediaType.OciIndex;
    if (typeof fields.config === "object" && fields.config !== null && Array.isArray(fields.layers)) return MediaType.OciManifest;
    return undefined;
  }
  // Schema1 carries no mediaType; served as stored for the clients that still read it.
  if (fields.schemaVersion === 1 && Array.isArray(fields.fsLayers)) {
    return Array.isArray(fields.signatures) ? MediaType.DockerSchema1SignedManifest : MediaType.DockerSchema1Manifest;
  }
  return undefined;
}
