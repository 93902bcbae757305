/** A blob an image needs, as its manifest lists it (layers in order, config apart). */
export interface SharedLayer {
  /** The compressed blob's digest (what the manifest lists). */
  digest: string;
  mediaType: string;
  /** The blob's size in bytes. */
  size: number;
  /** The uncompressed layer's digest (the config's rootfs.diff_ids entry). */
  diffId: string;
}

/**
 * One image in the shared tier: everything another host needs to list and inspect it without
 * downloading anything but the config, and to mark its blobs live.
 */
export interface SharedImageRecord {
  /** The image ID (`sha256:` + the config's digest). */
  id: string;
  /** The manifest the tier holds for it (a Docker schema2 or OCI manifest, not an index). */
  manifest: { digest: string; mediaType: string; size: number };
  /** The config blob's size. */
  configSize: number;
  layers: SharedLayer[];
  /** Sum of the layers' uncompressed sizes: what `docker images` shows as SIZE. */
  size: number;
  /** The config's `created` (RFC 3339), when it has one. */
  created?: string;
  /** The config's labels, for `--filter label=`. */
  labels?: Record<string, string>;
  os?: string;
  architecture?: string;
  variant?: string;
}

/**
 * One change to the shared references. A record holds several, applied together (an image and
 * its tags appear at once). Every change is a blind write: applying the same record twice leaves
 * the same state, and the state after a sequence of records depends only on their order.
 */
export type ReferenceChange =
  /** The image is in the tier (every blob it lists was uploaded before this record was written). */
  | { op: "image"; image: SharedImageRecord }
  /** `reference` (normalised: `docker.io/library/busybox:latest` or `name@sha256:…`) → image ID. */
  | { op: "tag"; reference: string; image: string }
  /** The reference no longer points anywhere. */
  | { op: "untag"; reference: string }
  /**
   * The image leaves the tier (`rmi` tier-wide) — unless a reference still points at it where the
   * change is applied. An `rmi` untags every reference it knows in the same record first; a tag
   * another host added meanwhile, which this host could not know, keeps the image: a command
   * that succeeded is never undone by one that did not see it. Decided at the change's place in
   * the log, so every host decides the same.
   */
  | { op: "delete-image"; image: string };

/** The body of one change record in the log. */
export interface ChangeRecord {
  /** Format version (1). */
  v: 1;
  /** The host that wrote it. */
  host: string;
  /** When the host wrote it (its clock; informational, never used to order). */
  at: string;
  changes: ReferenceChange[];
}
