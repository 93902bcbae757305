export type { RegistryContent, RequestScope, TagTarget } from "./registry-content";
export { createRegistryHandler } from "./registry-handler";
export type { RegistryHandlerOptions, RegistryRequestRecord } from "./registry-handler";
export { startRegistryServer } from "./start-registry-server";
export type { RegistryServer, RegistryServerOptions } from "./start-registry-server";
export { RegistryServerError, RegistryServerErrorCode, RegistryServerErrorKind } from "./errors";
