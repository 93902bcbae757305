import { existsSync } from "node:fs";
import { join } from "node:path";
import { type NamedReference, parseNormalizedNamed } from "@store/reference";
import { basicAuthorization, requestToken } from "../auth/token-request";
import type { AuthConfig, CredentialStore } from "../credentials/auth-config";
import { DockerConfigCredentials, dockerConfigDir } from "../credentials/docker-config";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { Repository, RequestOptions } from "../repository";
import { loadHostTls } from "../tls/certs-dir";
import { HostSession } from "./host-session";
import { HttpTransport, readBody } from "./http-transport";
import { InsecureRegistries, dockerHubHost, isLoopbackHost, registryHost } from "./registry-host";
import { MirroredRepository } from "./mirrored-repository";
import { RegistryRepository } from "./registry-repository";
import { registryErrorFromBody } from "./response-error";
import { type ResolvedRetry, type RetryOptions, resolveRetry } from "./retry-policy";
import { asRegistryError, sendWithRetry } from "./send-with-retry";

/** Options of {@link RegistryClient}; every one has docker's default. */
export interface RegistryClientOptions {
  /** Where credentials come from (default: docker's config, {@link DockerConfigCredentials}). */
  credentials?: CredentialStore;
  /** docker's client config directory (default `$DOCKER_CONFIG`, else `~/.docker`): credentials and `certs.d`. */
  configDir?: string;
  /**
   * Registries that may be spoken to over plain HTTP or unverified TLS: `host[:port]` or CIDRs
   * (dockerd's `insecure-registries`). Loopback (127.0.0.0/8, ::1, localhost) always may.
   */
  insecureRegistries?: readonly string[];
  /** Where `<host[:port]>/{ca.crt,*.crt,*.cert,*.key}` are looked up (default `[<configDir>/certs.d, /etc/docker/certs.d]`). */
  certsDirs?: readonly string[];
  userAgent?: string;
  retry?: RetryOptions;
  /** No byte on a response for this long → the request fails (or a blob resumes). Default 30 s. */
  stallTimeoutMs?: number;
  /** No TCP connection within this long → ETIMEDOUT (retried). Default 30 s, as dockerd's dialer. */
  connectTimeoutMs?: number;
  /**
   * Docker Hub mirrors (`--registry-mirror`): URLs (`https://mirror.example`, `http://10.0.0.5:5000`)
   * pulls from Docker Hub read through first, in order, as dockerd does; pushes go to Docker Hub.
   * An `http://` mirror is reached over plain HTTP, as an insecure registry.
   */
  mirrors?: readonly string[];
}

/** The `host[:port]` of a mirror URL (dockerd takes a scheme and host, with no path). */
function mirrorHost(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url.includes("://") ? url : `https://${url}`);
  } catch (cause) {
    throw new RegistryError(RegistryErrorCode.Invalid, `invalid mirror ${JSON.stringify(url)}: not a URL`, { cause });
  }
  if ((parsed.protocol !== "https:" && parsed.protocol !== "http:") || (parsed.pathname !== "/" && parsed.pathname !== "")) {
    throw new RegistryError(RegistryErrorCode.Invalid, `invalid mirror ${JSON.stringify(url)}: an http(s) URL of a host, without a path`);
  }
  return parsed.host;
}

/** What `login` answers, as dockerd's `/auth` does. */
export interface LoginResult {
  /** Always "Login Succeeded" (failures throw). */
  status: string;
  /** An OAuth refresh token the registry issued: store it instead of the password. */
  identityToken?: string;
}

const defaultUserAgent = `store-registry/0.1 node/${process.versions.node} (${process.platform}; ${process.arch})`;

/**
 * A client of registries: `repository("busybox")` gives a {@link Repository} on Docker Hub,
 * `repository("127.0.0.1:5000/a/b")` one on a local registry. Hosts, their auth challenges,
 * tokens and keep-alive connections are shared by every repository of one client.
 *
 * ```ts
 * const client = new RegistryClient();
 * const repo = client.repository("127.0.0.1:5000/busybox");
 * const { digest } = await repo.resolve("latest");
 * const { bytes } = await repo.fetchManifest(digest);
 * ```
 */
export class RegistryClient {
  readonly #credentials: CredentialStore;
  readonly #insecure: InsecureRegistries;
  readonly #certsDirs: readonly string[];
  readonly #transport: HttpTransport;
  readonly #retry: ResolvedRetry;
  readonly #stallTimeoutMs: number;
  readonly #sessions = new Map<string, HostSession>();
  readonly #mirrors: readonly string[];

  constructor(options: RegistryClientOptions = {}) {
    const configDir = options.configDir ?? dockerConfigDir();
    this.#credentials = options.credentials ?? new DockerConfigCredentials({ configDir });
    this.#mirrors = (options.mirrors ?? []).map(mirrorHost);
    // A mirror named with http:// is plain HTTP, as dockerd treats it: an insecure registry.
    const plainMirrors = (options.mirrors ?? []).filter((m) => /^http:\/\//i.test(m)).map(mirrorHost);
    this.#insecure = new InsecureRegistries([...(options.insecureRegistries ?? []), ...plainMirrors]);
    this.#certsDirs = options.certsDirs ?? [join(configDir, "certs.d"), "/etc/docker/certs.d"];
    this.#retry = resolveRetry(options.retry);
    this.#stallTimeoutMs = positive(options.stallTimeoutMs, 30_000, "stallTimeoutMs");
    this.#transport = new HttpTransport({
      userAgent: options.userAgent ?? defaultUserAgent,
      connectTimeoutMs: positive(options.connectTimeoutMs, 30_000, "connectTimeoutMs"),
      stallTimeoutMs: this.#stallTimeoutMs,
      tlsFor: async (host) => ({ ...(await loadHostTls(host, this.#certsDirs)), insecure: this.#insecure.has(host) }),
    });
  }

  /**
   * The repository `ref` names (`busybox`, `ghcr.io/o/r`, `127.0.0.1:5000/a/b`; a tag or digest in
   * it is ignored). `credentials`: used for this repository instead of the client's store (a
   * daemon's `X-Registry-Auth`, one request's credentials), with a session (and tokens) of its own.
   */
  repository(ref: NamedReference | string, options: { credentials?: AuthConfig } = {}): Repository {
    let named: NamedReference;
    try {
      named = typeof ref === "string" ? parseNormalizedNamed(ref) : ref;
    } catch (cause) {
      throw new RegistryError(RegistryErrorCode.Invalid, (cause as Error).message, { cause, details: { reference: String(ref) } });
    }
    const host = registryHost(named.domain);
    const upstream = new RegistryRepository(named.path, {
      session: options.credentials ? this.#session(host, { get: async () => options.credentials }) : this.#session(host),
      transport: this.#transport,
      retry: this.#retry,
      stallTimeoutMs: this.#stallTimeoutMs,
      displayName: named.familiarName,
    });
    if (host !== dockerHubHost || this.#mirrors.length === 0) return upstream;
    // A mirror gets its own credentials from the store (never Docker Hub's, nor a request's).
    const mirrors = this.#mirrors.map(
      (mirror) =>
        new RegistryRepository(named.path, {
          session: this.#session(mirror),
          transport: this.#transport,
          retry: this.#retry,
          stallTimeoutMs: this.#stallTimeoutMs,
          displayName: named.familiarName,
        }),
    );
    return new MirroredRepository(mirrors, upstream);
  }

  #schemes(host: string): ("https" | "http")[] {
    if (isLoopbackHost(host)) {
      // Our test registries are plain http on 127.0.0.1: no TLS attempt first, unless certs.d
      // holds certificates for this host (a loopback registry with TLS).
      return this.#certsDirs.some((dir) => existsSync(join(dir, host))) ? ["https", "http"] : ["http"];
    }
    // dockerd's insecure registries: https without verification first, then plain http.
    return this.#insecure.has(host) ? ["https", "http"] : ["https"];
  }

  #session(host: string, credentials: CredentialStore = this.#credentials): HostSession {
    if (credentials !== this.#credentials)
      return new HostSession(host, { transport: this.#transport, retry: this.#retry, credentials, schemes: this.#schemes(host) });
    let session = this.#sessions.get(host);
    if (!session) {
      session = new HostSession(host, { transport: this.#transport, retry: this.#retry, credentials, schemes: this.#schemes(host) });
      this.#sessions.set(host, session);
    }
    return session;
  }

  /**
   * Checks credentials as dockerd's `/auth` does: pings `/v2/`, then does the token exchange
   * (asking for a refresh token, returned as `identityToken`) or sends Basic, and confirms with
   * an authenticated `GET /v2/`. Throws `ERR_REGISTRY_UNAUTHORIZED` with the registry's text when
   * refused. `serverAddress` is `host[:port]`, a URL, or empty/`docker.io` for Docker Hub.
   */
  async login(serverAddress: string, auth: { username: string; password: string }, options: RequestOptions = {}): Promise<LoginResult> {
    const address =
      serverAddress
        .trim()
        .replace(/^[a-z]+:\/\//i, "")
        .split("/")[0] ?? "";
    if (!/^[A-Za-z0-9.\-_[\]:]*$/.test(address)) {
      throw new RegistryError(RegistryErrorCode.Invalid, `invalid server address ${JSON.stringify(serverAddress)}`);
    }
    const host = registryHost(address === "" ? "docker.io" : address.toLowerCase());
    const creds: AuthConfig = { username: auth.username, password: auth.password };
    const session = this.#session(host, { get: async () => creds });
    const base = await session.base(options.signal);
    const ping = new URL("/v2/", base);
    const bearer = session.auth.challenges.find((c) => c.scheme === "bearer");
    let authorization: string | undefined;
    let identityToken: string | undefined;
    if (bearer?.params.realm !== undefined) {
      const issued = await requestToken({
        transport: this.#transport,
        realm: bearer.params.realm,
        service: bearer.params.service,
        scopes: [],
        credentials: creds,
        allowHttp: this.#schemes(host).includes("http"),
        registryHost: host,
        offline: true,
        signal: options.signal,
      }).catch((error: unknown) => {
        throw asRegistryError(error);
      });
      authorization = `Bearer ${issued.token}`;
      identityToken = issued.refreshToken;
    } else if (session.auth.challenges.length > 0) {
      authorization = basicAuthorization(auth.username, auth.password);
    }
    const res = await sendWithRetry(async () => ({ method: "GET", url: ping, authorization, authorizationHost: ping.host, signal: options.signal }), {
      transport: this.#transport,
      retry: this.#retry,
      signal: options.signal,
      replayable: true,
      idempotent: true,
    });
    if (res.status !== 200) {
      const body = await readBody(res, 64 * 1024, this.#stallTimeoutMs, "login").catch(() => Buffer.alloc(0));
      throw registryErrorFromBody(res.status, body, { what: `Get "${ping.href}"`, host });
    }
    res.discard();
    return identityToken === undefined ? { status: "Login Succeeded" } : { status: "Login Succeeded", identityToken };
  }

  /** Closes idle keep-alive connections (a CLI calls it before exiting). */
  close(): void {
    this.#transport.close();
  }
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!(Number.isFinite(value) && value > 0))
    throw new RegistryError(RegistryErrorCode.Invalid, `invalid ${name} ${value}: expected a positive number of milliseconds`);
  return value;
}
