import type { AuthConfig } from "@store/registry";
import { DaemonError, DaemonErrorCode } from "../errors";

/** docker's types.AuthConfig as clients send it (JSON, lower-case keys). */
interface WireAuthConfig {
  username?: unknown;
  password?: unknown;
  auth?: unknown;
  serveraddress?: unknown;
  identitytoken?: unknown;
  registrytoken?: unknown;
}

const text = (v: unknown): string | undefined => (typeof v === "string" && v !== "" ? v : undefined);

/**
 * Credentials from an AuthConfig object: `username`/`password`, or `auth` (base64 of
 * `user:password`, what docker's config.json holds), or an identity or registry token. An empty
 * object (`{}`, anonymous: what the CLI sends with no login) is undefined: the daemon's own
 * credentials then apply.
 */
export function authConfigFrom(value: unknown): AuthConfig | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const w = value as WireAuthConfig;
  let username = text(w.username);
  let password = text(w.password);
  const auth = text(w.auth);
  if (username === undefined && auth !== undefined) {
    const decoded = Buffer.from(auth, "base64").toString("utf8");
    const colon = decoded.indexOf(":");
    if (colon > 0) {
      username = decoded.slice(0, colon);
      password = decoded.slice(colon + 1);
    }
  }
  const out: AuthConfig = {};
  if (username !== undefined) out.username = username;
  if (password !== undefined) out.password = password;
  const identityToken = text(w.identitytoken);
  if (identityToken !== undefined) out.identityToken = identityToken;
  const registryToken = text(w.registrytoken);
  if (registryToken !== undefined) out.registryToken = registryToken;
  const serverAddress = text(w.serveraddress);
  if (Object.keys(out).length === 0) return undefined;
  if (serverAddress !== undefined) out.serverAddress = serverAddress;
  return out;
}

/**
 * The `X-Registry-Auth` header: base64url (padded or not; plain base64 accepted too) of an
 * AuthConfig JSON. `strict: false` (pull): anything undecodable is anonymous, as dockerd.
 */
export function decodeRegistryAuth(header: string | undefined, strict: boolean): AuthConfig | undefined {
  if (header === undefined || header === "") return undefined;
  try {
    const json = Buffer.from(header.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
    return authConfigFrom(JSON.parse(json));
  } catch (e) {
    if (!strict) return undefined;
    throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid X-Registry-Auth header: ${(e as Error).message}`);
  }
}
