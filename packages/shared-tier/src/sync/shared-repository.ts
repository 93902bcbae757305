import type { StoreBackend } from "@store/backend";
import { type Digest, type DigestLike, toDigest } from "@store/digest";
import {
  type Descriptor,
  type FetchBlobOptions,
  type FetchedManifest,
  RegistryError,
  RegistryErrorCode,
  type Repository,
  type RequestOptions,
  maxManifestSize,
  parseManifest,
} from "@store/registry";
import type { SharedState } from "../references/shared-state";

/**
 * One repository of the shared tier seen as a registry's (the `Repository` contract the puller
 * reads), so copying an image from the tier to a host is a pull: verified manifests, one flight
 * per blob, staged layers checked against their diffIDs before anything is committed. Tags and
 * digests resolve through the shared references; content comes from the tier's blobs. Read-only:
 * writes go through `publishImage`, which uploads each blob once across hosts.
 */
export class SharedRepository implements Repository {
  /** Shown where a registry's host would be ("shared tier"). */
  readonly host = "shared tier";

  /**
   * @param fullName The repository's normalised name (`docker.io/library/busybox`): the tier's
   *   references are normalised.
   * @param name The path a registry would show (`library/busybox`), for "Pulling from …".
   */
  constructor(
    private readonly blobs: StoreBackend,
    private readonly state: () => SharedState,
    readonly fullName: string,
    readonly name: string,
  ) {}

  async resolve(reference: string): Promise<Descriptor> {
    const digest = reference.includes(":") ? toDigest(reference) : this.tagged(reference);
    const info = await this.blobs.info(digest);
    if (!info) throw this.unknown(reference);
    const bytes = await this.blobs.get(digest);
    return { mediaType: parseManifest(bytes).mediaType, digest, size: info.size };
  }

  async fetchManifest(reference: DigestLike | string): Promise<FetchedManifest> {
    const text = reference.toString();
    const digest = text.includes(":") ? toDigest(text) : this.tagged(text);
    const info = await this.blobs.info(digest);
    if (!info) throw this.unknown(text);
    if (info.size > maxManifestSize) {
      throw new RegistryError(RegistryErrorCode.ManifestInvalid, `manifest ${digest} is ${info.size} bytes, over the ${maxManifestSize}-byte limit`);
    }
    const bytes = await this.blobs.get(digest); // verified against its digest
    const manifest = parseManifest(bytes, undefined, { reference: `${this.fullName}@${digest}` });
    return { descriptor: { mediaType: manifest.mediaType, digest, size: bytes.byteLength }, bytes, manifest };
  }

  async *fetchBlob(descriptor: { digest: DigestLike; size?: number }, options: FetchBlobOptions = {}): AsyncIterable<Uint8Array> {
    const digest = toDigest(descriptor.digest);
    if (!(await this.blobs.has(digest))) {
      throw new RegistryError(RegistryErrorCode.NotFound, `blob ${digest} is not in the shared tier`, { details: { digest: digest.toString() } });
    }
    // The backend verifies as it streams: a resumed read skips what the caller has, still hashing it.
    let skip = options.offset ?? 0;
    for await (const chunk of await this.blobs.getStream(digest)) {
      options.signal?.throwIfAborted();
      if (skip >= chunk.byteLength) {
        skip -= chunk.byteLength;
        continue;
      }
      yield skip > 0 ? chunk.subarray(skip) : chunk;
      skip = 0;
    }
  }

  async listTags(): Promise<string[]> {
    const prefix = `${this.fullName}:`;
    const tags: string[] = [];
    for (const ref of this.state().references.keys()) if (ref.startsWith(prefix)) tags.push(ref.slice(prefix.length));
    return tags.sort();
  }

  async statBlob(digest: DigestLike, _options?: RequestOptions): Promise<Descriptor | undefined> {
    const info = await this.blobs.info(digest);
    return info ? { mediaType: "application/octet-stream", digest: info.digest, size: info.size } : undefined;
  }

  async mountBlob(): Promise<boolean> {
    return false;
  }

  async pushBlob(): Promise<{ digest: Digest; size: number }> {
    throw this.readOnly();
  }

  async pushManifest(): Promise<Digest> {
    throw this.readOnly();
  }

  /** The manifest a tag of this repository names in the shared state. */
  private tagged(tag: string): Digest {
    const state = this.state();
    const id = state.references.get(`${this.fullName}:${tag}`);
    const image = id === undefined ? undefined : state.images.get(id);
    if (!image) throw this.unknown(tag);
    return toDigest(image.manifest.digest);
  }

  private unknown(reference: string): RegistryError {
    return new RegistryError(RegistryErrorCode.NotFound, `manifest for ${this.fullName}:${reference} not found in the shared tier`, {
      details: { repository: this.fullName, reference },
    });
  }

  private readOnly(): RegistryError {
    return new RegistryError(RegistryErrorCode.Unsupported, "the shared tier is written by publishImage, not by a registry push");
  }
}
