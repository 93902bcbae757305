import { X509Certificate, createPrivateKey, randomBytes, sign } from "node:crypto";
import { type IncomingMessage, type ServerResponse, createServer } from "node:http";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createTestCa } from "./test-ca";

/** One resource's granted actions, as the JWT's `access` claim lists them. */
export interface ResourceAccess {
  type: string;
  name: string;
  actions: string[];
}

/** A token request the server answered (or refused), for tests to assert on. */
export interface TokenRequest {
  method: "GET" | "POST";
  /** `basic` (GET with Basic credentials), `anonymous` (GET without), or the POST form's grant_type. */
  grant: "basic" | "anonymous" | "password" | "refresh_token" | string;
  /** The authenticated user; undefined for anonymous requests and refused ones. */
  account: string | undefined;
  service: string | undefined;
  /** The scopes asked for, in order (`repository:library/busybox:pull`). */
  scopes: string[];
  /** What the issued token grants (empty when refused). */
  granted: ResourceAccess[];
  /** The HTTP status the server answered. */
  status: number;
  /** Query and form parameters other than scope (client_id, offline_token, account, …). */
  params: Record<string, string>;
}

/** Decides what `account` (undefined: anonymous) may do on a resource; returns the granted actions. */
export type TokenAccessPolicy = (account: string | undefined, resource: { type: string; name: string; actions: string[] }) => string[];

export interface StartTokenServerOptions {
  /** Users and their passwords (Basic on GET, `grant_type=password` on POST). Default: `{ testuser: "testpassword" }`. */
  users?: Record<string, string>;
  /** Grant `pull` to anonymous requests (default false: anonymous tokens grant nothing). */
  anonymousPull?: boolean;
  /** Overrides the default policy (users get every action they ask for, anonymous gets pull or nothing). */
  access?: TokenAccessPolicy;
  /** `expires_in` of issued tokens, seconds (default 300; distribution adds 60 s of leeway to `exp`). */
  expiresIn?: number;
  /** The `service` the registry names in its challenge (default `store-test-registry`). */
  service?: string;
  /** The `iss` claim the registry trusts (default `store-test-token-server`). */
  issuer?: string;
}

/** A token server of the tests' own on 127.0.0.1, signing ES256 JWTs the way distribution 2.x verifies them. */
export interface TokenServerPeer {
  readonly port: number;
  /** The realm the registry's challenge points clients to: `http://127.0.0.1:<port>/token`. */
  readonly realm: string;
  readonly service: string;
  readonly issuer: string;
  /** The CA bundle that signed the token certificate: the registry's `auth.token.rootcertbundle`. */
  readonly rootCertBundle: string;
  /** Every request so far, oldest first (tests may clear it with `requests.length = 0`). */
  readonly requests: TokenRequest[];
  /** The users it accepts (mutable while running). */
  readonly users: Record<string, string>;
  /** Signs a token for these claims' `access` as the server would (e.g. to test expired ones). */
  issue(account: string | undefined, access: ResourceAccess[], options?: { expiresIn?: number }): string;
  /** Stops the server and removes its key and certificates. Safe to call twice. */
  stop(): Promise<void>;
}

const b64url = (b: Buffer | string): string => Buffer.from(b).toString("base64url");

/** `repository:host:5000/a/b:pull,push` → type, name (which may hold colons), actions. */
function parseScope(scope: string): { type: string; name: string; actions: string[] } | undefined {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  if (first <= 0 || last <= first) return undefined;
  // "repository(plugin)" is a resource class distribution ignores; so do we.
  const type = scope.slice(0, first).replace(/\(.*\)$/, "");
  return {
    type,
    name: scope.slice(first + 1, last),
    actions: scope
      .slice(last + 1)
      .split(",")
      .filter(Boolean),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let s = "";
    req.setEncoding("utf8");
    req.on("data", (c: string) => (s += c));
    req.on("end", () => resolve(s));
    req.on("error", reject);
  });
}

/**
 * Starts a token server (docker's token auth spec, `GET <realm>?service&scope…` with optional
 * Basic, and the OAuth2 `POST` form with `grant_type=password|refresh_token`) on 127.0.0.1.
 *
 * distribution 2.8 finds the signing key of a JWT from its header: an `x5c` chain verified up to
 * `rootcertbundle`, a `jwk`, or a `kid` that must be the libtrust fingerprint of a key in that
 * bundle (`registry/auth/token/token.go`, VerifySigningKey). We send `x5c` with a leaf issued by a
 * test CA made at start, and give the registry that CA: no libtrust key IDs to compute.
 * Tokens are ES256 (P-256, the JOSE r||s signature form libtrust expects); `aud` is the service
 * as a string, which is all 2.8 accepts.
 */
export async function startTokenServer(options: StartTokenServerOptions = {}): Promise<TokenServerPeer> {
  const dir = await mkdtemp(join(tmpdir(), "token-server-"));
  let server: ReturnType<typeof createServer> | undefined;
  try {
    const ca = await createTestCa(dir);
    const signer = await ca.issue("token-signer");
    const key = createPrivateKey(signer.keyPem);
    const x5c = [new X509Certificate(signer.certPem).raw.toString("base64")];
    const service = options.service ?? "store-test-registry";
    const issuer = options.issuer ?? "store-test-token-server";
    const users: Record<string, string> = { ...(options.users ?? { testuser: "testpassword" }) };
    const refreshTokens = new Map<string, string>();
    const requests: TokenRequest[] = [];
    const policy: TokenAccessPolicy =
      options.access ??
      ((account, resource) => (account !== undefined ? resource.actions : options.anonymousPull ? resource.actions.filter((a) => a === "pull") : []));

    const issue = (account: string | undefined, access: ResourceAccess[], issueOptions: { expiresIn?: number } = {}): string => {
      const now = Math.floor(Date.now() / 1000);
      const header = { typ: "JWT", alg: "ES256", x5c };
      const claims = {
        iss: issuer,
        sub: account ?? "",
        aud: service,
        exp: now + (issueOptions.expiresIn ?? options.expiresIn ?? 300),
        nbf: now - 1,
        iat: now,
        jti: randomBytes(12).toString("hex"),
        access,
      };
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
      const signature = sign("sha256", Buffer.from(input), { key, dsaEncoding: "ieee-p1363" });
      return `${input}.${b64url(signature)}`;
    };

    const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const method = req.method === "POST" ? "POST" : "GET";
      const params: Record<string, string> = {};
      let scopes: string[];
      let grant: string;
      let account: string | undefined;
      let authenticated = true;
      if (method === "POST") {
        const form = new URLSearchParams(await readBody(req));
        for (const [k, v] of form) params[k] = v;
        // The OAuth2 form carries one space-separated scope field.
        scopes = (form.get("scope") ?? "").split(" ").filter(Boolean);
        grant = form.get("grant_type") ?? "";
        if (grant === "password") {
          account = form.get("username") ?? "";
          authenticated = users[account] !== undefined && users[account] === form.get("password");
        } else if (grant === "refresh_token") {
          account = refreshTokens.get(form.get("refresh_token") ?? "");
          authenticated = account !== undefined;
        } else {
          authenticated = false;
        }
      } else {
        for (const [k, v] of url.searchParams) if (k !== "scope") params[k] = v;
        scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" ").filter(Boolean));
        const authorization = req.headers.authorization;
        if (authorization?.startsWith("Basic ")) {
          grant = "basic";
          const decoded = Buffer.from(authorization.slice(6), "base64").toString("utf8");
          const colon = decoded.indexOf(":");
          account = colon < 0 ? decoded : decoded.slice(0, colon);
          authenticated = colon >= 0 && users[account] !== undefined && users[account] === decoded.slice(colon + 1);
        } else {
          grant = "anonymous";
        }
      }
      delete params.password;
      delete params.refresh_token;
      const record: TokenRequest = { method, grant, account: undefined, service: params.service, scopes, granted: [], status: 200, params };
      requests.push(record);
      const reply = (status: number, body: unknown) => {
        record.status = status;
        res.writeHead(status, { "Content-Type": "application/json" });
        res.end(JSON.stringify(body));
      };
      if (!authenticated) {
        reply(grant === "basic" || grant === "password" || grant === "refresh_token" ? 401 : 400, { details: "incorrect username or password" });
        return;
      }
      if (params.service !== undefined && params.service !== service) {
        reply(400, { details: `unknown service ${params.service}` });
        return;
      }
      record.account = account;
      for (const scope of scopes) {
        const resource = parseScope(scope);
        if (!resource) continue;
        const actions = policy(account, resource).filter((a) => resource.actions.includes(a) || a === "*");
        if (actions.length > 0) record.granted.push({ type: resource.type, name: resource.name, actions });
      }
      const token = issue(account, record.granted);
      const body: Record<string, unknown> = {
        token,
        access_token: token,
        expires_in: options.expiresIn ?? 300,
        issued_at: new Date().toISOString(),
      };
      // A refresh token for those who ask (docker's offline_token, the OAuth2 password grant).
      if (account !== undefined && (params.offline_token === "true" || grant === "password")) {
        const refresh = randomBytes(16).toString("hex");
        refreshTokens.set(refresh, account);
        body.refresh_token = refresh;
      }
      reply(200, body);
    };

    const http = createServer((req, res) => {
      handle(req, res).catch((e: unknown) => {
        if (!res.headersSent) res.writeHead(500);
        res.end(String(e));
      });
    });
    server = http;
    const port = await new Promise<number>((resolve, reject) => {
      http.once("error", reject);
      http.listen(0, "127.0.0.1", () => {
        const address = http.address();
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"));
      });
    });
    let stopping: Promise<void> | undefined;
    return {
      port,
      realm: `http://127.0.0.1:${port}/token`,
      service,
      issuer,
      rootCertBundle: ca.caPath,
      requests,
      users,
      issue,
      stop: () =>
        (stopping ??= (async () => {
          http.closeAllConnections();
          await new Promise<void>((r) => http.close(() => r()));
          await rm(dir, { recursive: true, force: true });
        })()),
    };
  } catch (e) {
    server?.close();
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
}
