import type { StoreBackend } from "@store/backend";
import type { Digest } from "@store/digest";

/** What a tag points at: a manifest or an index, by digest. */
export interface TagTarget {
  digest: Digest;
  /**
   * The manifest's media type, served as its `Content-Type`. When left out it is read from the
   * stored bytes' `mediaType` field (or, for an OCI manifest without one, from its shape).
   */
  mediaType?: string;
}

/**
 * What the request asked beyond the repository: the `ns` query parameter of the distribution
 * spec's registry proxying (containerd sends `?ns=docker.io` to a mirror), for a content that
 * keys repositories by their upstream registry.
 */
export interface RequestScope {
  /** The upstream registry the client means (`docker.io`), when it said. */
  namespace?: string;
}

/**
 * What a registry server serves, and all it needs: content by digest and a way to resolve tags.
 * Repository names given to these callbacks are validated (the distribution spec's grammar, at
 * most 255 characters); tags are validated; digests are parsed.
 */
export interface RegistryContent {
  /** Content by digest: manifests, indexes, configs, layer blobs. Reads are verified. */
  blobs: StoreBackend;
  /** The manifest or index a repository's tag points at, or undefined (→ 404 `MANIFEST_UNKNOWN`). */
  resolveTag(repository: string, tag: string, scope: RequestScope): Promise<TagTarget | undefined>;
  /** The tags of a repository, for `/v2/<name>/tags/list`; undefined → 404 `NAME_UNKNOWN`. Without it, tags/list is 404. */
  listTags?(repository: string, scope: RequestScope): Promise<string[] | undefined>;
  /**
   * Whether the repository may see this digest: a manifest fetched by digest, or a blob. Default:
   * every digest the blobs hold. A digest it may not see is answered as one that does not exist
   * (404), so a client cannot probe what other repositories hold.
   */
  hasDigest?(repository: string, digest: Digest, scope: RequestScope): Promise<boolean>;
}
