import { readFile } from "node:fs/promises";
import { mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { atomicWriteFile } from "@store/internal";
import { isDockerHub } from "../client/registry-host";
import { RegistryError, RegistryErrorCode } from "../errors";
import type { AuthConfig, CredentialStore } from "./auth-config";
import { helperErase, helperGet, helperStore } from "./credential-helper";

/** The key docker keeps Docker Hub's credentials under (registry.IndexServer). */
export const dockerHubAuthKey = "https://index.docker.io/v1/";

/** The key of `host`'s credentials in docker's config: `https://index.docker.io/v1/` for Docker Hub, else `host[:port]`. */
export function authConfigKey(host: string): string {
  const name = normalizeServerAddress(host);
  return isDockerHub(name) ? dockerHubAuthKey : name;
}

/** docker/cli's ConvertToHostname: `https://host:5000/v1/` → `host:5000`. */
function normalizeServerAddress(address: string): string {
  let text = address.trim();
  const scheme = text.indexOf("://");
  if (scheme >= 0) text = text.slice(scheme + 3);
  const slash = text.indexOf("/");
  return (slash >= 0 ? text.slice(0, slash) : text).toLowerCase();
}

/** Where docker's client config lives: `$DOCKER_CONFIG`, else `~/.docker`. */
export function dockerConfigDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_CONFIG || join(env.HOME || homedir(), ".docker");
}

/** One entry of `auths`, as the file holds it. */
export interface DockerConfigAuth {
  auth?: string;
  identitytoken?: string;
  registrytoken?: string;
  [key: string]: unknown;
}

/** docker's `config.json`: the keys this client reads and writes; every other key is kept as read. */
export interface DockerConfig {
  auths?: Record<string, DockerConfigAuth>;
  credsStore?: string;
  credHelpers?: Record<string, string>;
  [key: string]: unknown;
}

/** A loaded config file: its path and content (empty when the file does not exist). */
export interface DockerConfigFile {
  path: string;
  config: DockerConfig;
}

/** Reads `<configDir>/config.json` (default {@link dockerConfigDir}); a missing file is an empty config. */
export async function loadDockerConfig(options: { configDir?: string } = {}): Promise<DockerConfigFile> {
  const path = join(options.configDir ?? dockerConfigDir(), "config.json");
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { path, config: {} };
    throw new RegistryError(RegistryErrorCode.CredentialsUnavailable, `cannot read ${path}: ${(error as Error).message}`, { details: { path }, cause: error });
  }
  return { path, config: parseConfig(text, path) };
}

function parseConfig(text: string, path: string): DockerConfig {
  let value: unknown;
  try {
    value = text.trim() === "" ? {} : JSON.parse(text);
  } catch (cause) {
    throw new RegistryError(RegistryErrorCode.CredentialsInvalid, `${path}: not valid JSON: ${(cause as Error).message}`, { details: { path }, cause });
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RegistryError(RegistryErrorCode.CredentialsInvalid, `${path}: expected a JSON object`, { details: { path } });
  }
  return value as DockerConfig;
}

/** Writes the config back as docker does: indented JSON, mode 0600, replaced atomically (the directory 0700 when created). */
export async function saveDockerConfig(file: DockerConfigFile): Promise<void> {
  await mkdir(dirname(file.path), { recursive: true, mode: 0o700 });
  await atomicWriteFile(file.path, `${JSON.stringify(file.config, null, "\t")}\n`, 0o600);
}

/** base64(`user:password`) → its parts; a value that is not that is an error naming the key. */
function decodeAuth(auth: string, key: string, where: string): { username: string; password: string } {
  const text = Buffer.from(auth, "base64").toString("utf8");
  const colon = text.indexOf(":");
  if (colon < 0) {
    throw new RegistryError(RegistryErrorCode.CredentialsInvalid, `${where}: auths[${JSON.stringify(key)}].auth: invalid auth configuration file`, {
      details: { key },
    });
  }
  return { username: text.slice(0, colon), password: text.slice(colon + 1) };
}

function fromEntry(entry: DockerConfigAuth, key: string, where: string): AuthConfig | undefined {
  const config: AuthConfig = { serverAddress: key };
  if (typeof entry.auth === "string" && entry.auth !== "") Object.assign(config, decodeAuth(entry.auth, key, where));
  if (typeof entry.identitytoken === "string" && entry.identitytoken !== "") config.identityToken = entry.identitytoken;
  if (typeof entry.registrytoken === "string" && entry.registrytoken !== "") config.registryToken = entry.registrytoken;
  return Object.keys(config).length > 1 ? config : undefined;
}

/** The `auths` entry for `serverAddress`: the exact key, else the key naming the same host (`https://host/v2/`). */
function findEntry(auths: Record<string, DockerConfigAuth> | undefined, serverAddress: string): [string, DockerConfigAuth] | undefined {
  if (!auths) return undefined;
  const exact = auths[serverAddress];
  if (exact) return [serverAddress, exact];
  const host = normalizeServerAddress(serverAddress);
  for (const [key, entry] of Object.entries(auths)) {
    if (authConfigKey(key) === authConfigKey(host)) return [key, entry];
  }
  return undefined;
}

/** Which credential helper serves `serverAddress`: `credHelpers[host]`, else `credsStore`. */
function helperFor(config: DockerConfig, serverAddress: string): string | undefined {
  const host = normalizeServerAddress(serverAddress);
  const helpers = config.credHelpers ?? {};
  return helpers[serverAddress] ?? helpers[host] ?? (config.credsStore || undefined);
}

/**
 * Credentials as the docker CLI finds them: `DOCKER_AUTH_CONFIG` (a JSON config of `auths`)
 * first, then `credHelpers[host]`, then `credsStore` (both through `docker-credential-<name>`),
 * then `auths` in `config.json`. The file is read on each call, so a `store login` elsewhere is seen.
 */
export class DockerConfigCredentials implements CredentialStore {
  readonly #configDir: string | undefined;
  readonly #env: NodeJS.ProcessEnv;

  constructor(options: { configDir?: string; env?: NodeJS.ProcessEnv } = {}) {
    this.#configDir = options.configDir;
    this.#env = options.env ?? process.env;
  }

  async get(serverAddress: string): Promise<AuthConfig | undefined> {
    const fromEnv = this.#env.DOCKER_AUTH_CONFIG;
    if (fromEnv) {
      const found = findEntry(parseConfig(fromEnv, "DOCKER_AUTH_CONFIG").auths, serverAddress);
      if (found) {
        const config = fromEntry(found[1], found[0], "DOCKER_AUTH_CONFIG");
        if (config) return config;
      }
    }
    const { path, config } = await loadDockerConfig({ configDir: this.#configDir ?? dockerConfigDir(this.#env) });
    const helper = helperFor(config, serverAddress);
    if (helper !== undefined) return helperGet(helper, serverAddress);
    const found = findEntry(config.auths, serverAddress);
    return found ? fromEntry(found[1], found[0], path) : undefined;
  }
}

/**
 * Stores credentials as `docker login` does: through the credential helper when one serves the
 * address (the file then keeps an empty `auths` entry), else `auths[key].auth` (and
 * `identitytoken`, instead of the password, when the registry issued one) in a 0600 file.
 */
export async function storeCredentials(serverAddress: string, auth: AuthConfig, options: { configDir?: string } = {}): Promise<void> {
  const key = authConfigKey(serverAddress);
  const file = await loadDockerConfig(options);
  const helper = helperFor(file.config, key);
  const auths = (file.config.auths ??= {});
  if (helper !== undefined) {
    await helperStore(helper, key, auth);
    auths[key] = {};
  } else {
    const entry: DockerConfigAuth = {};
    // With an identity token docker keeps the username alone, not the password.
    const password = auth.identityToken !== undefined ? "" : (auth.password ?? "");
    if (auth.username !== undefined) entry.auth = Buffer.from(`${auth.username}:${password}`).toString("base64");
    if (auth.identityToken !== undefined) entry.identitytoken = auth.identityToken;
    auths[key] = entry;
  }
  await saveDockerConfig(file);
}

/** Forgets credentials as `docker logout` does: the helper's entry (if any) and the file's. True when something was removed. */
export async function eraseCredentials(serverAddress: string, options: { configDir?: string } = {}): Promise<boolean> {
  const key = authConfigKey(serverAddress);
  const file = await loadDockerConfig(options);
  const helper = helperFor(file.config, key);
  if (helper !== undefined) await helperErase(helper, key);
  const found = findEntry(file.config.auths, key);
  if (!found) return helper !== undefined;
  delete file.config.auths?.[found[0]];
  await saveDockerConfig(file);
  return true;
}
