/** Credentials for one registry, as docker's `types.AuthConfig` holds them. */
export interface AuthConfig {
  username?: string;
  password?: string;
  /** An OAuth refresh token (`identitytoken`): exchanged at the token realm with `grant_type=refresh_token`. */
  identityToken?: string;
  /** A bearer token sent to the registry as it is (`registrytoken`), no token exchange. */
  registryToken?: string;
  /** The key the credentials were found under (`https://index.docker.io/v1/`, `host:port`). */
  serverAddress?: string;
}

/** Where the client finds credentials: docker's config by default; tests and daemons pass their own. */
export interface CredentialStore {
  /** Credentials for `serverAddress` (an {@link authConfigKey}), or undefined for anonymous access. */
  get(serverAddress: string): Promise<AuthConfig | undefined>;
}
