import type { HttpTransport } from "../client/http-transport";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { AuthConfig } from "../credentials/auth-config";
import { type IssuedToken, basicAuthorization, requestToken } from "./token-request";
import { type AuthChallenge, parseWwwAuthenticate } from "./www-authenticate";

export interface HostAuthOptions {
  transport: HttpTransport;
  /** The registry's `host[:port]`. */
  host: string;
  /** Whether a token realm may be plain http (the registry is loopback or insecure). */
  allowHttp: boolean;
  /** The registry's credentials, looked up once per host. */
  credentials: () => Promise<AuthConfig | undefined>;
}

/** Tokens are renewed this long before they expire, so none runs out between the check and its use. */
const expiryMarginMs = 5_000;

/**
 * What one registry host asks for (its challenges, learned from the `/v2/` ping and from 401s)
 * and the bearer tokens it issued, cached per scope set with one fetch in flight per set.
 */
export class HostAuth {
  readonly #options: HostAuthOptions;
  #challenges: AuthChallenge[] = [];
  #credentials: Promise<AuthConfig | undefined> | undefined;
  readonly #tokens = new Map<string, IssuedToken>();
  readonly #inflight = new Map<string, Promise<IssuedToken>>();

  constructor(options: HostAuthOptions) {
    this.#options = options;
  }

  /** Records the challenges of a `/v2/` ping or a 401 (none: the registry wants no auth). */
  setChallenges(challenges: AuthChallenge[]): void {
    this.#challenges = challenges;
  }

  get challenges(): readonly AuthChallenge[] {
    return this.#challenges;
  }

  credentials(): Promise<AuthConfig | undefined> {
    this.#credentials ??= this.#options.credentials();
    this.#credentials.catch(() => {
      this.#credentials = undefined;
    });
    return this.#credentials;
  }

  /** The `Authorization` value for a request needing `scopes`, or undefined when none is due. */
  async authorization(scopes: readonly string[], signal?: AbortSignal): Promise<string | undefined> {
    const bearer = this.#challenges.find((c) => c.scheme === "bearer");
    const basic = this.#challenges.find((c) => c.scheme === "basic");
    if (!bearer && !basic) return undefined;
    const creds = await this.credentials();
    if (creds?.registryToken !== undefined) return `Bearer ${creds.registryToken}`;
    if (bearer?.params.realm !== undefined) return `Bearer ${(await this.#token(bearer, scopes, creds, signal)).token}`;
    if (basic && creds?.username !== undefined && creds.password !== undefined) return basicAuthorization(creds.username, creds.password);
    return undefined;
  }

  /**
   * Takes in a 401's challenges and forgets the token used for `scopes`. Returns the scopes the
   * challenge names that the request lacked (to be asked for, first), or undefined when the 401
   * carries no challenge we can answer, so another try is pointless.
   */
  unauthorized(header: string | string[] | undefined, scopes: readonly string[]): string[] | undefined {
    const challenges = parseWwwAuthenticate(header);
    const suffix = ` ${scopeKey(scopes)}`;
    for (const key of this.#tokens.keys()) if (key.endsWith(suffix)) this.#tokens.delete(key);
    if (challenges.length === 0) return undefined;
    this.#challenges = challenges;
    const asked = challenges.find((c) => c.scheme === "bearer")?.params.scope;
    if (asked === undefined) return [];
    return asked.split(" ").filter((s) => s !== "" && !scopes.includes(s));
  }

  async #token(challenge: AuthChallenge, scopes: readonly string[], creds: AuthConfig | undefined, signal?: AbortSignal): Promise<IssuedToken> {
    const key = `${challenge.params.realm} ${challenge.params.service ?? ""} ${scopeKey(scopes)}`;
    const cached = this.#tokens.get(key);
    if (cached && cached.expiresAt - expiryMarginMs > Date.now()) return cached;
    let pending = this.#inflight.get(key);
    if (!pending) {
      pending = requestToken({
        transport: this.#options.transport,
        realm: challenge.params.realm as string,
        service: challenge.params.service,
        scopes,
        credentials: creds,
        allowHttp: this.#options.allowHttp,
        registryHost: this.#options.host,
        // Shared by every waiter: one caller's abort must not fail the others' token.
      }).finally(() => this.#inflight.delete(key));
      this.#inflight.set(key, pending);
      pending.then((t) => this.#tokens.set(key, t)).catch(() => {});
    }
    return untilAborted(pending, signal);
  }
}

/** `promise`, or an Aborted error as soon as `signal` aborts (the promise itself runs on for others). */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(new RegistryError(RegistryErrorCode.Aborted, "aborted while waiting for a token", { cause: signal.reason }));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new RegistryError(RegistryErrorCode.Aborted, "aborted while waiting for a token", { cause: signal.reason }));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}

function scopeKey(scopes: readonly string[]): string {
  return [...scopes].sort().join(" ");
}
