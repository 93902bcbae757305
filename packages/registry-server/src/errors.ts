import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/**
 * Stable codes of the errors this package throws to its caller. What it answers to HTTP clients
 * is the registry protocol's own codes (`MANIFEST_UNKNOWN`, …: see `registry-error-code.ts`).
 */
export const RegistryServerErrorCode = {
  /** An option of `startRegistryServer` or `createRegistryHandler` that cannot be used (a bad host or port). */
  InvalidOptions: "ERR_REGISTRYSERVER_INVALID_OPTIONS",
  /** The server could not listen on the address asked for (in use, not permitted, no such interface). */
  ListenFailed: "ERR_REGISTRYSERVER_LISTEN_FAILED",
} as const;
export type RegistryServerErrorCode = (typeof RegistryServerErrorCode)[keyof typeof RegistryServerErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const RegistryServerErrorKind: Partial<Record<RegistryServerErrorCode, ErrorKind>> = {
  // The address is taken or refused by the system: another process (or later) may free it.
  [RegistryServerErrorCode.ListenFailed]: "unavailable",
};

/** Every error the registry server throws to its caller; branch on `code`. */
export class RegistryServerError extends StoreError<RegistryServerErrorCode> {
  constructor(code: RegistryServerErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? RegistryServerErrorKind[code];
    super(code, message, kind === undefined ? options : { ...options, kind });
  }
}
