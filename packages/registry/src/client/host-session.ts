import { HostAuth } from "../auth/host-auth";
import { parseWwwAuthenticate } from "../auth/www-authenticate";
import type { CredentialStore } from "../credentials/auth-config";
import { authConfigKey } from "../credentials/docker-config";
import type { HttpTransport } from "./http-transport";
import type { ResolvedRetry } from "./retry-policy";
import { sendWithRetry } from "./send-with-retry";

export interface HostSessionOptions {
  transport: HttpTransport;
  retry: ResolvedRetry;
  credentials: CredentialStore;
  /** Which schemes to try, in order (see RegistryClient: https, then http where allowed). */
  schemes: readonly ("https" | "http")[];
}

/**
 * One registry host as the client knows it: the scheme it answers on and its auth challenge,
 * both learned by one `GET /v2/` ping (cached; a failed ping is tried again next time), and the
 * tokens it issued.
 */
export class HostSession {
  readonly host: string;
  readonly auth: HostAuth;
  readonly #options: HostSessionOptions;
  #base: Promise<URL> | undefined;

  constructor(host: string, options: HostSessionOptions) {
    this.host = host;
    this.#options = options;
    this.auth = new HostAuth({
      transport: options.transport,
      host,
      allowHttp: options.schemes.includes("http"),
      credentials: () => options.credentials.get(authConfigKey(host)),
    });
  }

  /** `<scheme>://<host>/`, after the ping. */
  base(signal?: AbortSignal): Promise<URL> {
    if (!this.#base) {
      this.#base = this.#ping(signal);
      this.#base.catch(() => {
        this.#base = undefined;
      });
    }
    return this.#base;
  }

  async #ping(signal?: AbortSignal): Promise<URL> {
    // When every scheme fails, the first error says most (an untrusted certificate, rather than
    // the plain-http fallback's "socket hang up" from a TLS port).
    let firstError: unknown;
    for (const scheme of this.#options.schemes) {
      const url = new URL(`${scheme}://${this.host}/v2/`);
      try {
        const res = await sendWithRetry(async () => ({ method: "GET", url, signal }), {
          transport: this.#options.transport,
          retry: this.#options.retry,
          signal,
          replayable: true,
          idempotent: true,
        });
        // dockerd's PingV2Registry: any answer means the registry is there; a 401 says how to authenticate.
        this.auth.setChallenges(res.status === 401 ? parseWwwAuthenticate(res.headers["www-authenticate"]) : []);
        res.discard();
        return new URL(`${scheme}://${this.host}/`);
      } catch (error) {
        if ((error as { code?: string }).code === "ERR_REGISTRY_ABORTED") throw error;
        firstError ??= error;
      }
    }
    throw firstError;
  }
}
