import type { Descriptor } from "../descriptor";

/** What every manifest and index carries besides its own lists. */
interface ManifestCommon {
  /**
   * The media type it was read as: the body's `mediaType`, else the `Content-Type`, else the
   * one its fields imply (an OCI body may leave `mediaType` out).
   */
  mediaType: string;
  schemaVersion: 2;
  /** OCI 1.1: the artifact type, for artifacts. */
  artifactType?: string;
  /** OCI 1.1: the manifest this one refers to (signatures, SBOMs, attestations). */
  subject?: Descriptor;
  annotations?: Record<string, string>;
}

/** An image manifest (Docker schema2 or OCI): one image for one platform. */
export interface ImageManifest extends ManifestCommon {
  kind: "manifest";
  config: Descriptor;
  /** Bottom first, each of a known layer media type (see `layerCompression`). */
  layers: Descriptor[];
}

/** An entry of an index: a manifest (or a nested index) for one platform. */
export interface IndexEntry extends Descriptor {
  /**
   * False for a media type this client does not read (the OCI image-spec says to skip those,
   * not to fail): the entry is kept, and platform selection passes over it.
   */
  supported: boolean;
}

/** An index (OCI image index or Docker manifest list): one image for several platforms. */
export interface ImageIndex extends ManifestCommon {
  kind: "index";
  manifests: IndexEntry[];
}

/** What {@link parseManifest} returns: branch on `kind`. */
export type ParsedManifest = ImageManifest | ImageIndex;
