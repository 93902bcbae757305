/** Manifest and index media types the client asks for and recognises. */
export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  /** Schema1: refused, as moby and containerd 2 refuse it. */
  DockerSchema1: "application/vnd.docker.distribution.manifest.v1+json",
  DockerSchema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

/**
 * What manifest requests accept: the four modern types (distribution v3 answers 404 for an OCI
 * manifest whose type is missing, and silently downgrades a list to its linux/amd64 child), then
 * schema1 so that a schema1-only registry answers with it and we can say why we refuse it instead
 * of a confusing "not found".
 */
export const manifestAccept: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
  MediaType.DockerSchema1Signed,
  MediaType.DockerSchema1,
];

/** Whether `mediaType` is a schema1 manifest (or a schema1 body served as plain JSON). */
export function isSchema1(mediaType: string): boolean {
  return mediaType === MediaType.DockerSchema1 || mediaType === MediaType.DockerSchema1Signed;
}

/** moby's DeprecatedSchema1ImageError text (daemon/internal/distribution/errors.go), for `reference` (full form). */
export function schema1RemovedMessage(reference?: string): string {
  let message = "Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed.";
  if (reference !== undefined) message += ` Suggest the author of ${reference} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.`;
  return `${message} More information at https://docs.docker.com/go/deprecated-image-specs/`;
}
