import type { Digest, DigestLike } from "@store/digest";
import type { Descriptor } from "./descriptor";
import type { ParsedManifest } from "./manifest/manifest";

/** What every request takes: a way to stop it. */
export interface RequestOptions {
  /** Aborts the request, and any retry or resume of it, at once. */
  signal?: AbortSignal;
}

/** A retry or a resume the client made on its own (for progress lines: "Retrying in 5 seconds"). */
export interface RetryNotice {
  /** 1 for the first retry. */
  attempt: number;
  /** Milliseconds until the next attempt. */
  delayMs: number;
  /** Why: the error the previous attempt failed with. */
  reason: Error;
  /** For a blob: the offset the next attempt resumes from (a `Range` request). */
  offset?: number;
}

/** Options of {@link Repository.fetchBlob}. */
export interface FetchBlobOptions extends RequestOptions {
  /** Start at this byte (a `Range: bytes=<offset>-` request; a 206 with that start is required). */
  offset?: number;
  /** Hears each retry and mid-stream resume. */
  onRetry?: (notice: RetryNotice) => void;
}

/** A manifest or index as fetched: the exact bytes, verified against `descriptor.digest`. */
export interface FetchedManifest {
  /** Media type from `Content-Type` (or the body's `mediaType`), digest of the bytes, size. */
  descriptor: Descriptor;
  bytes: Uint8Array;
  /** The bytes parsed (a manifest or an index), checked as `parseManifest` checks them. */
  manifest: ParsedManifest;
}

/** Options of {@link Repository.pushBlob}. */
export interface PushBlobOptions extends RequestOptions {
  /** When known up front: the upload must come out as this digest and size. */
  expected?: { digest: DigestLike; size?: number };
  /** Upload in PATCH chunks of this many bytes (default: one streaming PATCH, then the PUT). */
  chunkSize?: number;
  /** Bytes sent so far, for progress. */
  onBytes?: (sent: number) => void;
}

/**
 * One repository of one registry (`registry-1.docker.io` + `library/busybox`), authenticated as
 * its client was configured. Every method sends the registry's headers (Accept lists,
 * `Docker-Distribution-API-Version`), handles 401 challenges (token or Basic), retries by error
 * class and follows redirects without forwarding `Authorization` to another host. Errors are
 * `RegistryError`s with docker's texts.
 */
export interface Repository {
  /** The registry host requests go to (`registry-1.docker.io` for `docker.io`), with its port. */
  readonly host: string;
  /** The repository path (`library/busybox`). */
  readonly name: string;

  /**
   * What a tag or digest points at: HEAD with the full manifest Accept list, falling back to GET
   * where HEAD is refused or gives no `Docker-Content-Digest`. Not verified (nothing was read);
   * fetch by the digest it gives.
   */
  resolve(reference: string, options?: RequestOptions): Promise<Descriptor>;
  /**
   * A manifest or index by digest (or by tag, then verified against `Docker-Content-Digest` when
   * sent, else its digest computed): the bytes checked against the digest, capped in size, a
   * schema1 manifest refused with docker's message.
   */
  fetchManifest(reference: DigestLike | string, options?: RequestOptions): Promise<FetchedManifest>;
  /**
   * A blob's raw bytes (never content-decoded), as a stream from `options.offset`, resumed
   * mid-stream with `Range` on a reset or a stall, following redirects to blob storage. The
   * caller verifies the digest (it hashes what it consumes); the stream ends in error if more
   * than `descriptor.size` bytes arrive.
   */
  fetchBlob(descriptor: { digest: DigestLike; size?: number; urls?: string[] }, options?: FetchBlobOptions): AsyncIterable<Uint8Array>;

  /** Every tag of the repository (`GET /v2/<name>/tags/list`, all pages), in the registry's order. */
  listTags(options?: RequestOptions): Promise<string[]>;
  /** HEAD of a blob: its descriptor when the repository has it, undefined on 404. */
  statBlob(digest: DigestLike, options?: RequestOptions): Promise<Descriptor | undefined>;
  /**
   * Cross-repository mount (`POST …/blobs/uploads/?mount=<digest>&from=<repo>`): true when the
   * registry mounted it (201); false when it did not (an upload it started is cancelled).
   */
  mountBlob(digest: DigestLike, fromRepository: string, options?: RequestOptions): Promise<boolean>;
  /**
   * Uploads a blob (POST, streaming PATCH or chunked PATCHes, PUT `?digest=`), hashing as it
   * sends; the registry must confirm the same digest. Returns the digest and size sent.
   */
  pushBlob(source: AsyncIterable<Uint8Array>, options?: PushBlobOptions): Promise<{ digest: Digest; size: number }>;
  /** PUTs a manifest or index under a tag or its digest; returns its digest (as the registry confirms it). */
  pushManifest(reference: string, bytes: Uint8Array, mediaType: string, options?: RequestOptions): Promise<Digest>;
}
