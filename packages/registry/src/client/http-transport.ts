import { Agent as HttpAgent, type IncomingHttpHeaders, type IncomingMessage, type ClientRequest, request as httpRequest } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import type { Socket } from "node:net";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { HostTls } from "../tls/certs-dir";

/** One HTTP exchange as the registry client makes it. */
export interface HttpRequest {
  method: string;
  url: URL;
  headers?: Record<string, string>;
  /**
   * Sent only to `authorizationHost` (the registry): a redirect to blob storage or a CDN, any
   * other host, gets no credentials.
   */
  authorization?: string;
  authorizationHost?: string;
  /** Bytes (replayable on a redirect) or a stream (sent once). */
  body?: Uint8Array | AsyncIterable<Uint8Array>;
  signal?: AbortSignal;
  /** Follow 3xx (up to 10). Default true. */
  followRedirects?: boolean;
}

/** A response whose body has not been read: read it, or call `discard()`. */
export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The URL that answered (after redirects). */
  url: URL;
  body: IncomingMessage;
  /** One header's value (the first, for repeated headers). */
  header(name: string): string | undefined;
  /** Drops the body (the socket goes back to the pool when the server ended it). */
  discard(): void;
}

export interface TransportOptions {
  userAgent: string;
  /** No connection within this long → ETIMEDOUT. */
  connectTimeoutMs: number;
  /** No response headers (or, while reading, no body byte) for this long → a stall error. */
  stallTimeoutMs: number;
  /** TLS settings for a host; `insecure` skips verification (dockerd's insecure registries over https). */
  tlsFor(host: string): Promise<HostTls & { insecure?: boolean }>;
}

const maxRedirects = 10;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

/** A network-level failure (connect, reset, stall), retryable by class. */
export class NetworkError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/**
 * HTTP/1.1 over node:http and node:https with keep-alive agents (one per TLS configuration).
 * Not `fetch()`: undici's fetch decodes `Content-Encoding`, and a registry or proxy that labels a
 * gzip layer `Content-Encoding: gzip` would then hash the wrong bytes (moby#17595); node:http
 * hands over the raw entity, and needs no dependency on Node 20.19.
 */
export class HttpTransport {
  readonly #options: TransportOptions;
  readonly #httpAgent = new HttpAgent({ keepAlive: true, keepAliveMsecs: 30_000 });
  readonly #httpsAgents = new Map<string, Promise<HttpsAgent>>();

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  get stallTimeoutMs(): number {
    return this.#options.stallTimeoutMs;
  }

  /** Sends `req`, following redirects with docker's rules; resolves once response headers arrive. */
  async send(req: HttpRequest): Promise<HttpResponse> {
    let url = req.url;
    let method = req.method;
    let body = req.body;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { ...req.headers };
      if (req.authorization !== undefined && url.host === req.authorizationHost) headers.Authorization = req.authorization;
      const response = await this.#once(method, url, headers, body, req.signal);
      const location = response.header("location");
      if (req.followRedirects === false || !redirectStatuses.has(response.status) || location === undefined) return response;
      response.discard();
      if (hop >= maxRedirects) {
        throw new RegistryError(RegistryErrorCode.Protocol, `${req.method} ${redactUrl(req.url)}: stopped after ${maxRedirects} redirects`, {
          details: { url: redactUrl(req.url) },
        });
      }
      let next: URL;
      try {
        next = new URL(location, url);
      } catch (cause) {
        throw new RegistryError(RegistryErrorCode.Protocol, `${req.method} ${redactUrl(url)}: redirect to an invalid location ${JSON.stringify(location)}`, {
          cause,
        });
      }
      if (next.protocol !== "https:" && next.protocol !== "http:") {
        throw new RegistryError(RegistryErrorCode.Protocol, `${req.method} ${redactUrl(url)}: redirect to a ${next.protocol} URL`);
      }
      // Go's client: 303 (and 301/302 of a POST) becomes a GET without a body.
      if (response.status === 303 || ((response.status === 301 || response.status === 302) && method === "POST")) {
        method = "GET";
        body = undefined;
      } else if (body !== undefined && !(body instanceof Uint8Array)) {
        throw new RegistryError(RegistryErrorCode.Protocol, `${method} ${redactUrl(url)}: redirected a streamed request body, which cannot be sent again`);
      }
      url = next;
    }
  }

  async #agentFor(url: URL): Promise<HttpAgent | HttpsAgent> {
    if (url.protocol === "http:") return this.#httpAgent;
    let agent = this.#httpsAgents.get(url.host);
    if (agent === undefined) {
      agent = this.#options.tlsFor(url.host).then(
        (tls) =>
          new HttpsAgent({
            keepAlive: true,
            keepAliveMsecs: 30_000,
            ...(tls.ca ? { ca: tls.ca } : {}),
            ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
            rejectUnauthorized: tls.insecure !== true,
          }),
      );
      this.#httpsAgents.set(url.host, agent);
      agent.catch(() => this.#httpsAgents.delete(url.host));
    }
    return agent;
  }

  async #once(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body: Uint8Array | AsyncIterable<Uint8Array> | undefined,
    signal: AbortSignal | undefined,
  ): Promise<HttpResponse> {
    signal?.throwIfAborted();
    const agent = await this.#agentFor(url);
    const allHeaders: Record<string, string | number> = {
      "User-Agent": this.#options.userAgent,
      "Docker-Distribution-API-Version": "registry/2.0",
      ...headers,
    };
    if (body instanceof Uint8Array) allHeaders["Content-Length"] = body.byteLength;
    else if (body === undefined && (method === "PUT" || method === "POST" || method === "PATCH")) allHeaders["Content-Length"] = 0;
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const stallMs = this.#options.stallTimeoutMs;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      let connectTimer: NodeJS.Timeout | undefined;
      let idleSocket: Socket | undefined;
      const req: ClientRequest = send(url, { method, headers: allHeaders, agent });
      const onIdle = () => fail(new NetworkError("ESTALL", `${method} ${redactUrl(url)}: no response after ${stallMs} ms of silence`));
      // Once connected, the socket's own idle timer watches both directions: an upload that keeps
      // sending is not a stall, a server that neither reads nor answers is.
      const watchIdle = (socket: Socket) => {
        if (connectTimer) clearTimeout(connectTimer);
        idleSocket = socket;
        socket.setTimeout(stallMs);
        socket.on("timeout", onIdle);
      };
      const unwatch = () => {
        if (connectTimer) clearTimeout(connectTimer);
        idleSocket?.setTimeout(0);
        idleSocket?.off("timeout", onIdle);
        idleSocket = undefined;
      };
      const fail = (error: Error) => {
        unwatch();
        signal?.removeEventListener("abort", onAbort);
        if (!settled) {
          settled = true;
          reject(error);
        }
        req.destroy();
      };
      const onAbort = () => fail(abortError(signal, method, url));
      signal?.addEventListener("abort", onAbort, { once: true });
      const connectMs = this.#options.connectTimeoutMs;
      connectTimer = setTimeout(() => fail(new NetworkError("ETIMEDOUT", `${method} ${redactUrl(url)}: no connection after ${connectMs} ms`)), connectMs);
      req.once("socket", (socket) => {
        // A reused keep-alive socket is connected already.
        if (!socket.connecting) watchIdle(socket);
        else socket.once(url.protocol === "https:" ? "secureConnect" : "connect", () => watchIdle(socket));
      });
      req.once("error", (error: NodeJS.ErrnoException) => {
        fail(new NetworkError(error.code ?? "ECONNRESET", `${method} ${redactUrl(url)}: ${error.message}`, { cause: error }));
      });
      req.once("response", (res) => {
        unwatch();
        signal?.removeEventListener("abort", onAbort);
        settled = true;
        if (signal) {
          const onBodyAbort = () => res.destroy(abortError(signal, method, url));
          signal.addEventListener("abort", onBodyAbort, { once: true });
          res.once("close", () => signal.removeEventListener("abort", onBodyAbort));
        }
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          url,
          body: res,
          header: (name) => {
            const value = res.headers[name.toLowerCase()];
            return Array.isArray(value) ? value[0] : value;
          },
          discard: () => {
            res.once("error", () => {});
            // Drained, the socket goes back to the pool; a body that never ends must not hold it forever.
            if (!res.complete) {
              const timer = setTimeout(() => res.destroy(), stallMs);
              timer.unref();
              res.once("close", () => clearTimeout(timer));
            }
            res.resume();
          },
        });
      });
      if (body === undefined) req.end();
      else if (body instanceof Uint8Array) req.end(body);
      else void pipeBody(body, req).catch((error: Error) => fail(error));
    });
  }

  /** Closes idle keep-alive sockets (in-flight requests finish). */
  close(): void {
    this.#httpAgent.destroy();
    for (const agent of this.#httpsAgents.values())
      void agent.then(
        (a) => a.destroy(),
        () => {},
      );
    this.#httpsAgents.clear();
  }
}

async function pipeBody(source: AsyncIterable<Uint8Array>, req: ClientRequest): Promise<void> {
  for await (const chunk of source) {
    if (req.destroyed) return;
    if (!req.write(chunk))
      await new Promise<void>((resolve) => {
        const done = () => {
          req.off("drain", done);
          req.off("close", done);
          resolve();
        };
        req.once("drain", done);
        req.once("close", done);
      });
  }
  req.end();
}

function abortError(signal: AbortSignal | undefined, method: string, url: URL): RegistryError {
  return new RegistryError(RegistryErrorCode.Aborted, `${method} ${redactUrl(url)}: aborted`, { cause: signal?.reason });
}

/** A URL fit for an error message: no query (pre-signed redirect targets carry credentials there) and no user info. */
export function redactUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}

/**
 * Reads a whole body, refusing more than `limit` bytes without buffering them: the socket is
 * destroyed at the first byte past the cap, so an endless body cannot grow memory.
 */
export async function readBody(res: HttpResponse, limit: number, stallTimeoutMs: number, what: string): Promise<Buffer> {
  const declared = Number(res.header("content-length"));
  if (Number.isFinite(declared) && declared > limit) {
    res.body.destroy();
    throw new RegistryError(RegistryErrorCode.TooLarge, `${what} is too large: ${declared} bytes, the limit is ${limit}`, {
      details: { size: declared, limit },
    });
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of withStallTimeout(res.body, stallTimeoutMs, what)) {
    total += chunk.byteLength;
    if (total > limit) {
      res.body.destroy();
      throw new RegistryError(RegistryErrorCode.TooLarge, `${what} is too large: more than ${limit} bytes`, { details: { limit } });
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks, total);
}

/**
 * The body's chunks, failing with ESTALL when none arrives for `ms`; a reset or a body shorter
 * than its Content-Length fails as ECONNRESET (Node says "aborted").
 */
export async function* withStallTimeout(body: IncomingMessage, ms: number, what: string): AsyncGenerator<Buffer> {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => body.destroy(new NetworkError("ESTALL", `${what}: no data for ${ms} ms`)), ms);
  };
  arm();
  try {
    for await (const chunk of body) {
      arm();
      yield chunk as Buffer;
    }
    // Node ends the iteration quietly on some truncations; `complete` says whether the message was whole.
    if (!body.complete) throw new NetworkError("ECONNRESET", `${what}: the connection closed before the body ended`);
  } catch (error) {
    if (error instanceof NetworkError || error instanceof RegistryError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    throw new NetworkError(code === undefined || code === "ERR_STREAM_PREMATURE_CLOSE" ? "ECONNRESET" : code, `${what}: ${(error as Error).message}`, {
      cause: error,
    });
  } finally {
    if (timer) clearTimeout(timer);
  }
}
