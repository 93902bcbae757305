export type { Descriptor, Platform } from "./descriptor";
export type { FetchBlobOptions, FetchedManifest, PushBlobOptions, Repository, RequestOptions, RetryNotice } from "./repository";
export { RegistryError, RegistryErrorCode, RegistryErrorKind } from "./errors";
export {
  isForeignLayer,
  isImageConfigMediaType,
  isImageManifestMediaType,
  isIndexMediaType,
  isLayerMediaType,
  isSchema1MediaType,
  layerCompression,
  manifestAccept,
  manifestMediaTypes,
  MediaType,
} from "./manifest/media-types";
export type { LayerCompression } from "./manifest/media-types";
export type { ImageIndex, ImageManifest, IndexEntry, ParsedManifest } from "./manifest/manifest";
export { parseManifest } from "./manifest/parse-manifest";
export type { ParseManifestOptions } from "./manifest/parse-manifest";
export { formatPlatform, normalizeArch, normalizeOs, normalizePlatform } from "./platform/normalize-platform";
export { hostPlatform } from "./platform/host-platform";
export { parsePlatform } from "./platform/parse-platform";
export type { ParsePlatformOptions } from "./platform/parse-platform";
export { platformMatches, platformVector } from "./platform/platform-vector";
export type { PlatformKey } from "./platform/platform-vector";
export { noMatchingManifest, selectManifests } from "./platform/select-manifests";
export type { RegistryErrorDetails, RegistryErrorEntry } from "./errors";
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
