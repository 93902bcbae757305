import { regroupChunks } from "@store/internal";
import { type Digest, type DigestLike, createHasher, digestFromBytes, parseDigest, toDigest } from "@store/digest";
import type { Descriptor } from "../descriptor";
import { RegistryError, RegistryErrorCode } from "../errors";
import { isSchema1MediaType, manifestAccept } from "../manifest/media-types";
import { parseManifest, schema1Error } from "../manifest/parse-manifest";
import type { FetchBlobOptions, FetchedManifest, PushBlobOptions, Repository, RequestOptions, RetryNotice } from "../repository";
import { readBlob } from "./blob-reader";
import type { HostSession } from "./host-session";
import { type HttpResponse, type HttpTransport, readBody, redactUrl } from "./http-transport";
import { registryErrorFromBody } from "./response-error";
import { type ResolvedRetry, parseRetryAfter } from "./retry-policy";
import { sendWithRetry } from "./send-with-retry";

/**
 * The largest manifest accepted: containerd's `MaxManifestSize` (4 * 1048 * 1048 bytes, sic,
 * just over 4 MiB); the distribution spec asks registries to take at least 4 MB. Bodies are
 * refused as they cross it, never buffered past it.
 */
// Tag lists come in pages (distribution-spec `n` and `last`); a registry paging without end is cut off.
const tagPageSize = 1000;
const maxTagPages = 1000;
const maxTagListBytes = 4 << 20;

export const maxManifestSize = 4 * 1048 * 1048;
/** Error bodies are read up to this much for their `errors[]`. */
const maxErrorBody = 64 * 1024;

const tagPattern = /^[\w][\w.-]{0,127}$/;

export interface RepositoryContext {
  session: HostSession;
  transport: HttpTransport;
  retry: ResolvedRetry;
  stallTimeoutMs: number;
  /** The repository as the user named it, for messages (`127.0.0.1:5000/x`, `busybox`). */
  displayName: string;
}

interface RequestSpec {
  method: string;
  /** A path under the registry (`/v2/…`) or an absolute URL (an upload's Location). */
  target: string | URL;
  headers?: Record<string, string>;
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  scopes: readonly string[];
  signal?: AbortSignal;
  onRetry?: (notice: RetryNotice) => void;
  idempotent: boolean;
  followRedirects?: boolean;
}

/** {@link Repository} over the registry HTTP API v2. Built by `RegistryClient.repository()`. */
export class RegistryRepository implements Repository {
  readonly host: string;
  readonly name: string;
  readonly #ctx: RepositoryContext;
  readonly #pull: string[];
  readonly #push: string[];

  constructor(name: string, ctx: RepositoryContext) {
    this.host = ctx.session.host;
    this.name = name;
    this.#ctx = ctx;
    this.#pull = [`repository:${name}:pull`];
    this.#push = [`repository:${name}:pull,push`];
  }

  /**
   * One request with the repository's auth: a 401 is answered once (new challenge, fresh token,
   * the scopes it names first), then returned for the caller to report.
   */
  async #request(spec: RequestSpec): Promise<HttpResponse> {
    const base = await this.#ctx.session.base(spec.signal);
    const url = typeof spec.target === "string" ? new URL(spec.target, base) : spec.target;
    const replayable = spec.body === undefined || spec.body instanceof Uint8Array;
    let scopes = spec.scopes;
    for (let reauthenticated = false; ; reauthenticated = true) {
      const res = await sendWithRetry(
        async () => ({
          method: spec.method,
          url,
          headers: spec.headers,
          body: spec.body,
          signal: spec.signal,
          authorization: await this.#ctx.session.auth.authorization(scopes, spec.signal),
          // Only the registry itself gets credentials: not blob storage it redirects to, nor an
          // upload Location on another host.
          authorizationHost: base.host,
          followRedirects: spec.followRedirects,
        }),
        { transport: this.#ctx.transport, retry: this.#ctx.retry, signal: spec.signal, onRetry: spec.onRetry, replayable, idempotent: spec.idempotent },
      );
      if (res.status !== 401 || reauthenticated || !replayable) return res;
      const wanted = this.#ctx.session.auth.unauthorized(res.headers["www-authenticate"], scopes);
      if (wanted === undefined) return res;
      res.discard();
      scopes = [...wanted, ...scopes];
    }
  }

  /** The RegistryError for a failed response, its body's `errors[]` read when there is one. */
  async #fail(res: HttpResponse, what?: string): Promise<RegistryError> {
    const body = await readBody(res, maxErrorBody, this.#ctx.stallTimeoutMs, "error body").catch(() => {
      res.body.destroy();
      return Buffer.alloc(0);
    });
    const error = registryErrorFromBody(res.status, body, { what, host: this.host, repository: this.name });
    const retryAfter = parseRetryAfter(res.header("retry-after"));
    if (retryAfter !== undefined && (res.status === 429 || res.status === 503)) {
      return new RegistryError(error.code, `${error.message} (the registry asks to retry after ${Math.ceil(retryAfter / 1000)} s)`, {
        details: { ...error.details, retryAfterMs: retryAfter },
      });
    }
    return error;
  }

  /** A tag or digest as a path segment; anything else is refused before a request is made. */
  #reference(reference: DigestLike | string): { text: string; digest?: Digest } {
    if (typeof reference !== "string") {
      const digest = toDigest(reference);
      return { text: digest.toString(), digest };
    }
    const text = reference;
    if (text.includes(":")) {
      try {
        const digest = parseDigest(text);
        return { text: digest.toString(), digest };
      } catch (cause) {
        throw new RegistryError(RegistryErrorCode.Invalid, `invalid reference ${JSON.stringify(text)}: not a tag or a digest`, { cause });
      }
    }
    if (!tagPattern.test(text)) throw new RegistryError(RegistryErrorCode.Invalid, `invalid tag ${JSON.stringify(text)}`, { details: { tag: text } });
    return { text };
  }

  #refText(ref: { text: string; digest?: Digest }): string {
    return `${this.#ctx.displayName}${ref.digest ? "@" : ":"}${ref.text}`;
  }

  #manifestRequest(method: "GET" | "HEAD", reference: string, signal: AbortSignal | undefined): Promise<HttpResponse> {
    return this.#request({
      method,
      target: `/v2/${this.name}/manifests/${reference}`,
      headers: { Accept: manifestAccept.join(", ") },
      scopes: this.#pull,
      signal,
      idempotent: true,
    });
  }

  async resolve(reference: string, options: RequestOptions = {}): Promise<Descriptor> {
    const ref = this.#reference(reference);
    const res = await this.#manifestRequest("HEAD", ref.text, options.signal);
    res.discard();
    if (res.status >= 200 && res.status < 300) {
      const mediaType = contentType(res);
      if (mediaType !== undefined && isSchema1MediaType(mediaType)) throw schema1Error(this.#refText(ref), mediaType);
      const header = res.header("docker-content-digest");
      const size = Number(res.header("content-length"));
      const digest = header === undefined ? undefined : safeDigest(header);
      if (digest && mediaType !== undefined && Number.isSafeInteger(size) && size > 0) {
        if (ref.digest && !digest.equals(ref.digest)) {
          throw new RegistryError(RegistryErrorCode.DigestMismatch, `${this.#refText(ref)}: the registry answered for digest ${digest}`, {
            details: { expected: ref.digest.toString(), actual: digest.toString() },
          });
        }
        return { mediaType, digest, size };
      }
    }
    // moby and containerd: a HEAD that is refused (405, 403) or says too little is asked again
    // as a GET, which also brings the error body.
    return (await this.fetchManifest(ref.digest ?? ref.text, options)).descriptor;
  }

  async fetchManifest(reference: DigestLike | string, options: RequestOptions = {}): Promise<FetchedManifest> {
    const ref = this.#reference(reference);
    const res = await this.#manifestRequest("GET", ref.text, options.signal);
    if (res.status !== 200) {
      throw await this.#fail(res, res.status === 404 ? `manifest for ${this.#refText(ref)} not found` : undefined);
    }
    const bytes = await readBody(res, maxManifestSize, this.#ctx.stallTimeoutMs, `manifest ${this.#refText(ref)}`);
    const expected = ref.digest ?? headerDigest(res);
    const digest = digestFromBytes(bytes, expected?.algorithm);
    if (expected && !digest.equals(expected)) {
      throw new RegistryError(
        RegistryErrorCode.DigestMismatch,
        `manifest ${this.#refText(ref)} failed to verify: expected ${expected}${ref.digest ? "" : " (Docker-Content-Digest)"}, got ${digest}`,
        { details: { expected: expected.toString(), actual: digest.toString(), host: this.host, repository: this.name } },
      );
    }
    // Verified bytes only are parsed: schema1 and malformed manifests refused in one place.
    const manifest = parseManifest(bytes, contentType(res), { reference: this.#refText(ref) });
    return {
      descriptor: { mediaType: manifest.mediaType, digest, size: bytes.byteLength },
      bytes: new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength),
      manifest,
    };
  }

  fetchBlob(descriptor: { digest: DigestLike; size?: number; urls?: string[] }, options: FetchBlobOptions = {}): AsyncIterable<Uint8Array> {
    const digest = toDigest(descriptor.digest);
    if (descriptor.size !== undefined && !(Number.isSafeInteger(descriptor.size) && descriptor.size >= 0)) {
      throw new RegistryError(RegistryErrorCode.Invalid, `blob ${digest}: invalid size ${descriptor.size}`);
    }
    if (options.offset !== undefined && !(Number.isSafeInteger(options.offset) && options.offset >= 0)) {
      throw new RegistryError(RegistryErrorCode.Invalid, `blob ${digest}: invalid offset ${options.offset}`);
    }
    const urls = (descriptor.urls ?? []).filter((u) => /^https?:\/\//i.test(u));
    let foreign: string | undefined;
    const open = async (offset: number, signal?: AbortSignal): Promise<HttpResponse> => {
      const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
      if (foreign === undefined) {
        const res = await this.#request({
          method: "GET",
          target: `/v2/${this.name}/blobs/${digest}`,
          headers,
          scopes: this.#pull,
          signal,
          onRetry: options.onRetry,
          idempotent: true,
        });
        if (res.status === 200 || res.status === 206) return res;
        const error = await this.#fail(res);
        if (res.status !== 404 || urls.length === 0) throw error;
        // moby's order (pull_v2.go, on Windows where foreign layers exist): the registry first,
        // then the descriptor's urls, without credentials: the registry is the source the user
        // named and authenticated to, and most registries mirror foreign layers nowadays.
        for (const url of urls) {
          const alt = await this.#openForeign(new URL(url), headers, signal).catch(() => undefined);
          if (alt) {
            foreign = url;
            return alt;
          }
        }
        throw error;
      }
      const alt = await this.#openForeign(new URL(foreign), headers, signal);
      if (!alt) throw new RegistryError(RegistryErrorCode.Unavailable, `blob ${digest}: ${redactUrl(new URL(foreign))} stopped answering`);
      return alt;
    };
    return readBlob(open, {
      ...options,
      what: `blob ${digest}`,
      size: descriptor.size,
      retry: this.#ctx.retry,
      stallTimeoutMs: this.#ctx.stallTimeoutMs,
    });
  }

  async #openForeign(url: URL, headers: Record<string, string>, signal?: AbortSignal): Promise<HttpResponse | undefined> {
    const res = await sendWithRetry(async () => ({ method: "GET", url, headers, signal }), {
      transport: this.#ctx.transport,
      retry: this.#ctx.retry,
      signal,
      replayable: true,
      idempotent: true,
    });
    if (res.status === 200 || res.status === 206) return res;
    res.discard();
    return undefined;
  }

  async statBlob(digestLike: DigestLike, options: RequestOptions = {}): Promise<Descriptor | undefined> {
    const digest = toDigest(digestLike);
    const res = await this.#request({
      method: "HEAD",
      target: `/v2/${this.name}/blobs/${digest}`,
      scopes: this.#pull,
      signal: options.signal,
      idempotent: true,
    });
    res.discard();
    if (res.status === 404) return undefined;
    if (res.status !== 200) throw await this.#fail(res, `blob ${digest}`);
    const size = Number(res.header("content-length"));
    if (!Number.isSafeInteger(size) || size < 0) {
      throw new RegistryError(RegistryErrorCode.Protocol, `blob ${digest}: HEAD gave no Content-Length`, { details: { host: this.host } });
    }
    return { mediaType: "application/octet-stream", digest, size };
  }

  async listTags(options: RequestOptions = {}): Promise<string[]> {
    const tags: string[] = [];
    let target: string | undefined = `/v2/${this.name}/tags/list?n=${tagPageSize}`;
    for (let page = 0; target !== undefined; page++) {
      if (page >= maxTagPages) throw new RegistryError(RegistryErrorCode.Protocol, `tags of ${this.#ctx.displayName}: more than ${maxTagPages} pages`);
      const res = await this.#request({ method: "GET", target, scopes: this.#pull, signal: options.signal, idempotent: true });
      if (res.status !== 200) throw await this.#fail(res, `tags of ${this.#ctx.displayName}`);
      const body = await readBody(res, maxTagListBytes, this.#ctx.stallTimeoutMs, `tags of ${this.#ctx.displayName}`);
      let list: unknown;
      try {
        list = (JSON.parse(body.toString("utf8")) as { tags?: unknown }).tags;
      } catch (cause) {
        throw new RegistryError(RegistryErrorCode.Protocol, `tags of ${this.#ctx.displayName}: not JSON`, { cause });
      }
      if (list !== null && list !== undefined && !(Array.isArray(list) && list.every((t) => typeof t === "string"))) {
        throw new RegistryError(RegistryErrorCode.Protocol, `tags of ${this.#ctx.displayName}: "tags" is not a list of strings`);
      }
      tags.push(...((list as string[] | null | undefined) ?? []));
      // RFC 8288 `Link: </v2/…/tags/list?n=…&last=…>; rel="next"`, on this registry only.
      const next = /<([^>]+)>\s*;\s*rel="?next"?/.exec(res.header("link") ?? "")?.[1];
      target = next?.startsWith("/v2/") ? next : undefined;
    }
    return tags;
  }

  async mountBlob(digestLike: DigestLike, fromRepository: string, options: RequestOptions = {}): Promise<boolean> {
    const digest = toDigest(digestLike);
    if (!/^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/.test(fromRepository)) {
      throw new RegistryError(RegistryErrorCode.Invalid, `invalid repository name ${JSON.stringify(fromRepository)} to mount from`);
    }
    const query = new URLSearchParams({ mount: digest.toString(), from: fromRepository });
    const res = await this.#request({
      method: "POST",
      target: `/v2/${this.name}/blobs/uploads/?${query}`,
      // moby's token handler: a mount needs pull on the source as well.
      scopes: [...this.#push, `repository:${fromRepository}:pull`],
      signal: options.signal,
      // A mount twice is a mount; a session opened twice is cancelled or expires.
      idempotent: true,
    });
    res.discard();
    if (res.status === 201) return true;
    if (res.status === 202) {
      // The registry did not mount but opened an upload session: close it, the caller uploads.
      const location = res.header("location");
      if (location !== undefined) await this.#cancelUpload(new URL(location, res.url));
      return false;
    }
    // Registries refuse mounts in many ways (an unauthorized source, Quay, Hub across origins):
    // like ggcr and containerd, treat it as "not mounted" and let the caller upload; a 5xx is real.
    if (res.status >= 400 && res.status < 500 && res.status !== 429) return false;
    throw await this.#fail(res, `mount of blob ${digest} from ${fromRepository}`);
  }

  async #cancelUpload(location: URL): Promise<void> {
    try {
      const res = await this.#request({ method: "DELETE", target: location, scopes: this.#push, idempotent: true });
      res.discard();
    } catch {
      // Best effort: the registry expires abandoned uploads on its own.
    }
  }

  async pushBlob(source: AsyncIterable<Uint8Array>, options: PushBlobOptions = {}): Promise<{ digest: Digest; size: number }> {
    const expected = options.expected ? { digest: toDigest(options.expected.digest), size: options.expected.size } : undefined;
    if (options.chunkSize !== undefined && !(Number.isSafeInteger(options.chunkSize) && options.chunkSize > 0)) {
      throw new RegistryError(RegistryErrorCode.Invalid, `invalid chunk size ${options.chunkSize}`);
    }
    const start = await this.#request({
      method: "POST",
      target: `/v2/${this.name}/blobs/uploads/`,
      scopes: this.#push,
      signal: options.signal,
      idempotent: false,
    });
    if (start.status !== 202) throw await this.#fail(start, "starting a blob upload");
    start.discard();
    let location = this.#location(start);
    const hasher = createHasher(expected?.digest.algorithm);
    let sent = 0;
    try {
      if (options.chunkSize === undefined) {
        const counted = async function* (this: void): AsyncGenerator<Uint8Array> {
          for await (const chunk of source) {
            hasher.update(chunk);
            sent += chunk.byteLength;
            options.onBytes?.(sent);
            yield chunk;
          }
        };
        const res = await this.#request({
          method: "PATCH",
          target: location,
          headers: { "Content-Type": "application/octet-stream" },
          body: counted(),
          scopes: this.#push,
          signal: options.signal,
          idempotent: false,
        });
        if (res.status !== 202) throw await this.#fail(res, "uploading a blob");
        res.discard();
        location = this.#location(res);
      } else {
        for await (const chunk of regroupChunks(source, options.chunkSize, { exact: true })) {
          hasher.update(chunk);
          const res = await this.#request({
            method: "PATCH",
            target: location,
            headers: { "Content-Type": "application/octet-stream", "Content-Range": `${sent}-${sent + chunk.byteLength - 1}` },
            body: chunk,
            scopes: this.#push,
            signal: options.signal,
            idempotent: false,
          });
          if (res.status !== 202) throw await this.#fail(res, `uploading bytes ${sent}-${sent + chunk.byteLength - 1} of a blob`);
          res.discard();
          location = this.#location(res);
          sent += chunk.byteLength;
          options.onBytes?.(sent);
        }
      }
      const digest = hasher.digest();
      if (expected && (!digest.equals(expected.digest) || (expected.size !== undefined && expected.size !== sent))) {
        throw new RegistryError(
          RegistryErrorCode.DigestMismatch,
          `blob upload: expected ${expected.digest} (${expected.size ?? "?"} bytes), sent ${digest} (${sent} bytes)`,
          {
            details: { expected: expected.digest.toString(), actual: digest.toString(), size: sent },
          },
        );
      }
      const commit = new URL(location);
      commit.searchParams.append("digest", digest.toString());
      const res = await this.#request({ method: "PUT", target: commit, scopes: this.#push, signal: options.signal, idempotent: true });
      if (res.status !== 201) throw await this.#fail(res, `committing blob ${digest}`);
      res.discard();
      confirmDigest(res, digest, `blob ${digest}`);
      return { digest, size: sent };
    } catch (error) {
      await this.#cancelUpload(location);
      throw error;
    }
  }

  /** An upload's next URL: `Location`, which may be relative to the request (distribution spec). */
  #location(res: HttpResponse): URL {
    const location = res.header("location");
    if (location === undefined)
      throw new RegistryError(RegistryErrorCode.Protocol, `${redactUrl(res.url)}: ${res.status} without a Location`, { details: { host: this.host } });
    try {
      return new URL(location, res.url);
    } catch (cause) {
      throw new RegistryError(RegistryErrorCode.Protocol, `${redactUrl(res.url)}: invalid Location ${JSON.stringify(location)}`, { cause });
    }
  }

  async pushManifest(reference: string, bytes: Uint8Array, mediaType: string, options: RequestOptions = {}): Promise<Digest> {
    const ref = this.#reference(reference);
    if (!/^[\w.+-]+\/[\w.+-]+$/.test(mediaType)) throw new RegistryError(RegistryErrorCode.Invalid, `invalid manifest media type ${JSON.stringify(mediaType)}`);
    const digest = digestFromBytes(bytes, ref.digest?.algorithm);
    if (ref.digest && !digest.equals(ref.digest)) {
      throw new RegistryError(RegistryErrorCode.DigestMismatch, `manifest pushed as ${ref.digest} hashes to ${digest}`, {
        details: { expected: ref.digest.toString(), actual: digest.toString() },
      });
    }
    const res = await this.#request({
      method: "PUT",
      target: `/v2/${this.name}/manifests/${ref.text}`,
      headers: { "Content-Type": mediaType },
      body: bytes,
      scopes: this.#push,
      signal: options.signal,
      idempotent: true,
    });
    if (res.status !== 200 && res.status !== 201 && res.status !== 202) throw await this.#fail(res, `pushing manifest ${this.#refText(ref)}`);
    res.discard();
    confirmDigest(res, digest, `manifest ${this.#refText(ref)}`);
    return digest;
  }
}

/** The response's media type, parameters dropped (registries should not send any; clients ignore them). */
function contentType(res: HttpResponse): string | undefined {
  const value = res.header("content-type")?.split(";")[0]?.trim().toLowerCase();
  return value === undefined || value === "" ? undefined : value;
}

function safeDigest(text: string): Digest | undefined {
  try {
    return parseDigest(text.trim());
  } catch {
    return undefined;
  }
}

function headerDigest(res: HttpResponse): Digest | undefined {
  const header = res.header("docker-content-digest");
  if (header === undefined) return undefined;
  const digest = safeDigest(header);
  if (!digest)
    throw new RegistryError(RegistryErrorCode.Protocol, `invalid Docker-Content-Digest ${JSON.stringify(header)}`, { details: { url: redactUrl(res.url) } });
  return digest;
}

/** The registry's `Docker-Content-Digest`, when it sends one, must be the digest we computed. */
function confirmDigest(res: HttpResponse, digest: Digest, what: string): void {
  const confirmed = headerDigest(res);
  if (confirmed && !confirmed.equals(digest)) {
    throw new RegistryError(RegistryErrorCode.DigestMismatch, `${what}: the registry stored ${confirmed}, we sent ${digest}`, {
      details: { expected: digest.toString(), actual: confirmed.toString() },
    });
  }
}
