export type { Descriptor, Platform } from "./descriptor";
export type { FetchBlobOptions, FetchedManifest, PushBlobOptions, Repository, RequestOptions, RetryNotice } from "./repository";
export { RegistryError, RegistryErrorCode, RegistryErrorKind } from "./errors";
export type { RegistryErrorDetails, RegistryErrorEntry } from "./errors";
export { MediaType, manifestAccept } from "./media-types";
export { RegistryClient } from "./client/registry-client";
export type { LoginResult, RegistryClientOptions } from "./client/registry-client";
export type { RetryOptions } from "./client/retry-policy";
export { maxManifestSize } from "./client/registry-repository";
export { dockerHubHost, registryHost } from "./client/registry-host";
export type { AuthConfig, CredentialStore } from "./credentials/auth-config";
export {
  DockerConfigCredentials,
  authConfigKey,
  dockerConfigDir,
  dockerHubAuthKey,
  eraseCredentials,
  loadDockerConfig,
  saveDockerConfig,
  storeCredentials,
} from "./credentials/docker-config";
export type { DockerConfig, DockerConfigAuth, DockerConfigFile } from "./credentials/docker-config";
export { parseWwwAuthenticate } from "./auth/www-authenticate";
export type { AuthChallenge } from "./auth/www-authenticate";
