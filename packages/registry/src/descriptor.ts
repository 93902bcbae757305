import type { Digest } from "@store/digest";

/** An OCI platform: what an image runs on (`linux/arm64/v8`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/**
 * What a manifest, an index or the registry says about one piece of content (an OCI content
 * descriptor): its media type, digest (parsed) and size, and for an index entry its platform.
 */
export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  /** Foreign (non-distributable) layers: where to fetch the blob instead of the registry. */
  urls?: string[];
  platform?: Platform;
  annotations?: Record<string, string>;
  artifactType?: string;
}
