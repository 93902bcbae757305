import { BlockList, isIP } from "node:net";
import { type HttpResponse, type HttpTransport, readBody, redactUrl } from "../client/http-transport";
import { hostnameOf } from "../client/registry-host";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { AuthConfig } from "../credentials/auth-config";
import { registryErrorFromBody } from "../client/response-error";

/** A bearer token as the token server issued it. */
export interface IssuedToken {
  token: string;
  /** When to stop using it (ms since the epoch). */
  expiresAt: number;
  /** An OAuth refresh token, when asked for (`offline_token=true`) and given: `docker login` keeps it. */
  refreshToken?: string;
}

export interface TokenRequest {
  transport: HttpTransport;
  realm: string;
  service?: string;
  /** Scopes, the most important first (some registries read only the first). */
  scopes: readonly string[];
  credentials?: AuthConfig;
  /** Whether the realm may be plain http (the registry itself is loopback or insecure). */
  allowHttp: boolean;
  /** The registry's `host[:port]`: one on a private address may keep its token server there too. */
  registryHost?: string;
  /** Ask for a refresh token (`docker login`). */
  offline?: boolean;
  signal?: AbortSignal;
}

/** The token server's answer is small; anything larger is not a token response. */
const maxTokenResponse = 1 << 20;
/** distribution's token spec: `expires_in` defaults to 60 s, and moby never uses a shorter lifetime. */
const minimumLifetimeSeconds = 60;
const clientId = "docker";

/**
 * Fetches a bearer token (distribution's token spec): with an identity token, the OAuth2 POST
 * (`grant_type=refresh_token`), falling back to GET where the server refuses it (404 GCR, 401
 * Artifactory, 400 ACR, 405); otherwise GET with Basic credentials, or anonymous.
 */
export async function requestToken(req: TokenRequest): Promise<IssuedToken> {
  const realm = checkRealm(req.realm, req.allowHttp, req.registryHost);
  const creds = req.credentials;
  if (creds?.identityToken !== undefined) {
    const form = new URLSearchParams({ grant_type: "refresh_token", refresh_token: creds.identityToken, client_id: clientId });
    if (req.service) form.set("service", req.service);
    // The OAuth form takes one space-separated scope field.
    if (req.scopes.length > 0) form.set("scope", req.scopes.join(" "));
    if (req.offline) form.set("access_type", "offline");
    const res = await req.transport.send({
      method: "POST",
      url: realm,
      headers: { "Content-Type": "application/x-www-form-urlencoded; charset=utf-8" },
      body: Buffer.from(form.toString()),
      signal: req.signal,
    });
    if (![400, 401, 404, 405].includes(res.status)) return parseTokenResponse(res, req, realm);
    res.discard();
  }
  const url = new URL(realm);
  if (req.service) url.searchParams.set("service", req.service);
  for (const scope of req.scopes) url.searchParams.append("scope", scope);
  const headers: Record<string, string> = {};
  if (creds?.username !== undefined && creds.password !== undefined) {
    url.searchParams.set("account", creds.username);
    headers.Authorization = basicAuthorization(creds.username, creds.password);
    if (req.offline) {
      url.searchParams.set("offline_token", "true");
      url.searchParams.set("client_id", clientId);
    }
  }
  // The realm is another host than the registry; the credentials are meant for it, but not for
  // wherever it redirects.
  const res = await req.transport.send({
    method: "GET",
    url,
    authorization: headers.Authorization,
    authorizationHost: url.host,
    signal: req.signal,
  });
  return parseTokenResponse(res, req, url);
}

/** `Basic base64(user:password)`. */
export function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
}

function checkRealm(realm: string, allowHttp: boolean, registryHost: string | undefined): URL {
  let url: URL;
  try {
    url = new URL(realm);
  } catch (cause) {
    throw new RegistryError(RegistryErrorCode.Protocol, `invalid token realm ${JSON.stringify(realm)} in the registry's challenge`, { cause });
  }
  // ggcr's SSRF guard: a registry on the internet must not point our credentials (or requests)
  // at loopback, private or link-local addresses; a local or insecure registry may.
  const registryInternal = registryHost !== undefined && isInternalAddress(hostnameOf(registryHost));
  if (!allowHttp && !registryInternal && isInternalAddress(url.hostname)) {
    throw new RegistryError(
      RegistryErrorCode.InsecureRefused,
      `refusing token realm ${redactUrl(url)}: a private or loopback address given by a public registry`,
      {
        details: { realm: redactUrl(url) },
      },
    );
  }
  if (url.protocol === "https:") return url;
  if (url.protocol === "http:" && allowHttp) return url;
  throw new RegistryError(
    RegistryErrorCode.InsecureRefused,
    `refusing token realm ${redactUrl(url)}: credentials go to an https realm only (the registry is not insecure)`,
    {
      details: { realm: redactUrl(url) },
    },
  );
}

const internal = new BlockList();
for (const [address, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.168.0.0", 16],
  ["100.64.0.0", 10],
] as const) {
  internal.addSubnet(address, prefix, "ipv4");
}
for (const [address, prefix] of [
  ["::1", 128],
  ["::", 128],
  ["fc00::", 7],
  ["fe80::", 10],
] as const) {
  internal.addSubnet(address, prefix, "ipv6");
}

/** Whether `hostname` is an IP literal in a loopback, private, shared or link-local range. */
function isInternalAddress(hostname: string): boolean {
  const name = hostname.replace(/^\[|\]$/g, "");
  const family = isIP(name);
  if (family === 4) return internal.check(name, "ipv4");
  if (family === 6) return internal.check(name, "ipv6");
  return name === "localhost" || name.endsWith(".localhost");
}

async function parseTokenResponse(res: HttpResponse, req: TokenRequest, url: URL): Promise<IssuedToken> {
  const what = `token from ${redactUrl(url)}`;
  if (res.status !== 200) {
    const body = await readBody(res, 64 * 1024, req.transport.stallTimeoutMs, what).catch(() => Buffer.alloc(0));
    throw registryErrorFromBody(res.status, body, { what: `getting ${what}` });
  }
  const body = await readBody(res, maxTokenResponse, req.transport.stallTimeoutMs, what);
  let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown; issued_at?: unknown; refresh_token?: unknown };
  try {
    parsed = JSON.parse(body.toString("utf8")) as typeof parsed;
  } catch (cause) {
    throw new RegistryError(RegistryErrorCode.Protocol, `${what}: the answer is not JSON`, { cause });
  }
  const token = typeof parsed.token === "string" && parsed.token !== "" ? parsed.token : typeof parsed.access_token === "string" ? parsed.access_token : "";
  if (token === "") throw new RegistryError(RegistryErrorCode.Protocol, `${what}: the answer holds no token`);
  const lifetime = typeof parsed.expires_in === "number" && parsed.expires_in >= minimumLifetimeSeconds ? parsed.expires_in : minimumLifetimeSeconds;
  const issued = typeof parsed.issued_at === "string" ? Date.parse(parsed.issued_at) : Number.NaN;
  // A clock that differs from the server's must not make every token look expired: count from
  // now unless the server's issue time is earlier.
  const start = Number.isNaN(issued) ? Date.now() : Math.min(Date.now(), issued);
  const issuedToken: IssuedToken = { token, expiresAt: start + lifetime * 1000 };
  if (typeof parsed.refresh_token === "string" && parsed.refresh_token !== "") issuedToken.refreshToken = parsed.refresh_token;
  return issuedToken;
}
