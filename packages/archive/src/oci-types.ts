/** OCI image-spec and Docker distribution media types an archive may hold. */
export const MediaType = {
  OciIndex: "application/vnd.oci.image.index.v1+json",
  OciManifest: "application/vnd.oci.image.manifest.v1+json",
  OciConfig: "application/vnd.oci.image.config.v1+json",
  OciLayer: "application/vnd.oci.image.layer.v1.tar",
  OciLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  OciLayerZstd: "application/vnd.oci.image.layer.v1.tar+zstd",
  DockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  DockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  DockerConfig: "application/vnd.docker.container.image.v1+json",
  DockerLayer: "application/vnd.docker.image.rootfs.diff.tar.gzip",
} as const;

/** Annotation keys used for image names in an OCI layout's index.json. */
export const Annotation = {
  /** OCI: a tag (`latest`) or, as skopeo and Docker write it, a whole reference. */
  RefName: "org.opencontainers.image.ref.name",
  /** containerd and Docker 25+: the full image name (`docker.io/library/busybox:latest`). */
  ImageName: "io.containerd.image.name",
} as const;

/** The `oci-layout` file's content. */
export const OCI_LAYOUT = '{"imageLayoutVersion": "1.0.0"}';

export interface OciPlatform {
  architecture: string;
  os: string;
  variant?: string;
  "os.version"?: string;
}

export interface OciDescriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
  platform?: OciPlatform;
}
