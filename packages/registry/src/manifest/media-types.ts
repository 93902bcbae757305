/**
 * The media types a registry speaks, Docker's and OCI's, as the registry (`Content-Type`), the
 * body (`mediaType`) and descriptors name them.
 */
export const MediaType = {
  /** Docker image manifest v2, schema 2. */
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  /** Docker manifest list (a multi-platform image). */
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  /** Docker image manifest v2, schema 1 (unsigned): refused. */
  DockerSchema1Manifest: "application/vnd.docker.distribution.manifest.v1+json",
  /** Docker image manifest v2, schema 1, signed (JWS): refused. */
  DockerSchema1SignedManifest: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  /** Docker image config. */
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  /** Docker layer: a gzip-compressed tar. */
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  /** Docker foreign layer (Windows base layers): fetched from the descriptor's `urls`, never pushed. */
  DockerForeignLayer: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
  /** Docker plugin config (a plugin, not an image). */
  DockerPluginConfig: "application/vnd.docker.plugin.v1+json",

  /** OCI image manifest. */
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  /** OCI image index. */
  OciIndex: "application/vnd.oci.image.index.v1+json",
  /** OCI image config. */
  OciConfig: "application/vnd.oci.image.config.v1+json",
  /** OCI empty descriptor (`{}`), the config of an artifact without one. */
  OciEmpty: "application/vnd.oci.empty.v1+json",
  /** OCI layer: an uncompressed tar. */
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  /** OCI layer: a gzip-compressed tar. */
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  /** OCI layer: a zstd-compressed tar. */
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  /** OCI non-distributable layer, uncompressed (deprecated by the image-spec, still read). */
  OciLayerNonDistributable: "application/vnd.oci.image.layer.nondistributable.v1.tar",
  /** OCI non-distributable layer, gzip (deprecated by the image-spec, still read). */
  OciLayerNonDistributableGzip: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  /** OCI non-distributable layer, zstd (deprecated by the image-spec, still read). */
  OciLayerNonDistributableZstd: "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
} as const;
export type MediaType = (typeof MediaType)[keyof typeof MediaType];

/** The compression a layer's bytes have, by its media type. */
export type LayerCompression = "gzip" | "zstd" | "none";

interface LayerType {
  compression: LayerCompression;
  /** Not distributed by registries: fetched from `urls` when at all, and never pushed. */
  foreign: boolean;
}

const layerTypes: ReadonlyMap<string, LayerType> = new Map([
  [MediaType.DockerLayer, { compression: "gzip", foreign: false }],
  [MediaType.DockerForeignLayer, { compression: "gzip", foreign: true }],
  [MediaType.OciLayer, { compression: "none", foreign: false }],
  [MediaType.OciLayerGzip, { compression: "gzip", foreign: false }],
  [MediaType.OciLayerZstd, { compression: "zstd", foreign: false }],
  [MediaType.OciLayerNonDistributable, { compression: "none", foreign: true }],
  [MediaType.OciLayerNonDistributableGzip, { compression: "gzip", foreign: true }],
  [MediaType.OciLayerNonDistributableZstd, { compression: "zstd", foreign: true }],
]);

/**
 * What manifest requests accept: the four modern types (distribution v3 answers 404 for an OCI
 * manifest whose type is missing, and silently downgrades a list to its linux/amd64 child), then
 * schema1, so that a schema1-only registry answers with it and the refusal can say why instead
 * of a confusing "not found".
 */
export const manifestAccept: readonly string[] = [
  MediaType.OciIndex,
  MediaType.OciManifest,
  MediaType.DockerManifestList,
  MediaType.DockerManifest,
  MediaType.DockerSchema1SignedManifest,
  MediaType.DockerSchema1Manifest,
];

/** Manifest media types this client reads, in the order an `Accept` header lists them. */
export const manifestMediaTypes: readonly string[] = [MediaType.OciIndex, MediaType.OciManifest, MediaType.DockerManifestList, MediaType.DockerManifest];

/** Whether `mediaType` is one of the image layer types (Docker's or OCI's, foreign ones included). */
export function isLayerMediaType(mediaType: string): boolean {
  return layerTypes.has(mediaType);
}

/**
 * The compression a layer media type implies (`tar+gzip` → gzip, `tar+zstd` → zstd, `tar` →
 * none; Docker's layer types are gzip); undefined for a type that is not a layer's.
 */
export function layerCompression(mediaType: string): LayerCompression | undefined {
  return layerTypes.get(mediaType)?.compression;
}

/** Whether a layer media type is foreign (Docker) or non-distributable (OCI): not to be pushed. */
export function isForeignLayer(mediaType: string): boolean {
  return layerTypes.get(mediaType)?.foreign ?? false;
}

/** Whether `mediaType` is an index (OCI index or Docker manifest list). */
export function isIndexMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciIndex || mediaType === MediaType.DockerManifestList;
}

/** Whether `mediaType` is an image manifest (OCI or Docker schema2). */
export function isImageManifestMediaType(mediaType: string): boolean {
  return mediaType === MediaType.OciManifest || mediaType === MediaType.DockerManifest;
}

/** Whether `mediaType` is a schema1 manifest, which no current docker reads. */
export function isSchema1MediaType(mediaType: string): boolean {
  return mediaType === MediaType.DockerSchema1Manifest || mediaType === MediaType.DockerSchema1SignedManifest;
}

/** Whether `mediaType` is an image config (Docker's or OCI's), as moby accepts for an image by default. */
export function isImageConfigMediaType(mediaType: string): boolean {
  return mediaType === MediaType.DockerConfig || mediaType === MediaType.OciConfig;
}
