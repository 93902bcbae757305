import type { Digest, DigestLike } from "@store/digest";
import { isStoreError } from "@store/errors";
import type { Descriptor } from "../descriptor";
import type { FetchBlobOptions, FetchedManifest, PushBlobOptions, Repository, RequestOptions } from "../repository";

/**
 * Whether a mirror's failure sends the read on to the next source: the mirror lacks the content,
 * is down, or refuses us. A digest mismatch or a malformed answer from a mirror is not passed
 * over silently: a mirror that lies is an error to see.
 */
function passOver(e: unknown): boolean {
  return isStoreError(e) && (e.kind === "notFound" || e.kind === "unavailable" || e.kind === "invalid");
}

/**
 * A repository read through mirrors first, as dockerd's `--registry-mirror` does for Docker Hub:
 * each read goes to the mirrors in order, then to the registry itself, the first source that has
 * it answering; writes (push) go to the registry only. Every answer is verified as from the
 * registry (manifests by digest; blobs by the puller's hashes), so a mirror is trusted with
 * nothing but bandwidth.
 */
export class MirroredRepository implements Repository {
  readonly host: string;
  readonly name: string;
  readonly #sources: readonly Repository[];

  constructor(
    mirrors: readonly Repository[],
    private readonly upstream: Repository,
  ) {
    this.host = upstream.host;
    this.name = upstream.name;
    this.#sources = [...mirrors, upstream];
  }

  async #first<T>(read: (source: Repository) => Promise<T>): Promise<T> {
    let last: unknown;
    for (const [i, source] of this.#sources.entries()) {
      try {
        return await read(source);
      } catch (e) {
        if (i === this.#sources.length - 1 || !passOver(e)) throw e;
        last = e;
      }
    }
    throw last;
  }

  resolve(reference: string, options?: RequestOptions): Promise<Descriptor> {
    return this.#first((s) => s.resolve(reference, options));
  }

  fetchManifest(reference: DigestLike | string, options?: RequestOptions): Promise<FetchedManifest> {
    return this.#first((s) => s.fetchManifest(reference, options));
  }

  /** The first source that starts sending the blob sends all of it (resumes stay with it). */
  async *fetchBlob(descriptor: { digest: DigestLike; size?: number; urls?: string[] }, options?: FetchBlobOptions): AsyncIterable<Uint8Array> {
    for (const [i, source] of this.#sources.entries()) {
      let started = false;
      try {
        for await (const chunk of source.fetchBlob(descriptor, options)) {
          started = true;
          yield chunk;
        }
        return;
      } catch (e) {
        if (started || i === this.#sources.length - 1 || !passOver(e)) throw e;
      }
    }
  }

  listTags(options?: RequestOptions): Promise<string[]> {
    return this.#first((s) => s.listTags(options));
  }

  statBlob(digest: DigestLike, options?: RequestOptions): Promise<Descriptor | undefined> {
    return this.upstream.statBlob(digest, options);
  }

  mountBlob(digest: DigestLike, fromRepository: string, options?: RequestOptions): Promise<boolean> {
    return this.upstream.mountBlob(digest, fromRepository, options);
  }

  pushBlob(source: AsyncIterable<Uint8Array>, options?: PushBlobOptions): Promise<{ digest: Digest; size: number }> {
    return this.upstream.pushBlob(source, options);
  }

  pushManifest(reference: string, bytes: Uint8Array, mediaType: string, options?: RequestOptions): Promise<Digest> {
    return this.upstream.pushManifest(reference, bytes, mediaType, options);
  }
}
