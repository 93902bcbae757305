import { type ErrorKind, StoreError, type StoreErrorOptions } from "@store/errors";

/** Stable codes of the errors this package throws. */
export const RegistryErrorCode = {
  /** The manifest, blob or repository is not in the registry (404, `MANIFEST_UNKNOWN`, `BLOB_UNKNOWN`, `NAME_UNKNOWN`). */
  NotFound: "ERR_REGISTRY_NOT_FOUND",
  /** The registry wants credentials, or refused the ones sent (401 after one re-authentication). */
  Unauthorized: "ERR_REGISTRY_UNAUTHORIZED",
  /** The registry refused access (403, `DENIED`). */
  Denied: "ERR_REGISTRY_DENIED",
  /** Rate limited (429, `TOOMANYREQUESTS`) after the retries allowed. */
  TooManyRequests: "ERR_REGISTRY_TOO_MANY_REQUESTS",
  /** The registry could not be reached, reset the connection, stalled or answered 5xx, after retries. */
  Unavailable: "ERR_REGISTRY_UNAVAILABLE",
  /** Content did not hash to the digest asked for, or the registry confirmed another digest. */
  DigestMismatch: "ERR_REGISTRY_DIGEST_MISMATCH",
  /** More (or fewer) bytes than the descriptor's size. */
  SizeMismatch: "ERR_REGISTRY_SIZE_MISMATCH",
  /** What the registry sent is not supported (schema1 manifests, a Range ignored). */
  Unsupported: "ERR_REGISTRY_UNSUPPORTED",
  /** A manifest larger than the client accepts. */
  TooLarge: "ERR_REGISTRY_TOO_LARGE",
  /** The registry's answer breaks the protocol (an unexpected status, a malformed header or body). */
  Protocol: "ERR_REGISTRY_PROTOCOL",
  /** Bad input from the caller: a reference, digest, option or server address. */
  Invalid: "ERR_REGISTRY_INVALID",
  /** Plain HTTP (or an http token realm) for a registry that is neither loopback nor insecure. */
  InsecureRefused: "ERR_REGISTRY_INSECURE_REFUSED",
  /** A docker config file or a credential helper's answer that cannot be read. */
  CredentialsInvalid: "ERR_REGISTRY_CREDENTIALS_INVALID",
  /** A credential helper (`docker-credential-<name>`) that cannot be run or failed. */
  CredentialsUnavailable: "ERR_REGISTRY_CREDENTIALS_UNAVAILABLE",
  /** A certs.d directory with a client certificate and no key (or the reverse), or unreadable files. */
  CertsInvalid: "ERR_REGISTRY_CERTS_INVALID",
  /** The caller's signal aborted the request. */
  Aborted: "ERR_REGISTRY_ABORTED",
  // --- Manifests and platforms (src/manifest, src/platform) ---
  /** A manifest or index that is not valid JSON of its type: a missing or mistyped field, a bad digest or size. */
  ManifestInvalid: "ERR_REGISTRY_MANIFEST_INVALID",
  /** A manifest of a media type this client does not read (neither Docker schema2 nor OCI). */
  ManifestUnsupported: "ERR_REGISTRY_MANIFEST_UNSUPPORTED",
  /** A Docker image manifest v2 schema 1 (or image format v1): refused, as dockerd refuses it. */
  Schema1Unsupported: "ERR_REGISTRY_SCHEMA1_UNSUPPORTED",
  /** A layer of a media type no image layer has (moby: "unsupported media type"). */
  LayerUnsupported: "ERR_REGISTRY_LAYER_UNSUPPORTED",
  /** A `--platform` value docker would refuse (containerd's platforms.Parse). */
  PlatformInvalid: "ERR_REGISTRY_PLATFORM_INVALID",
  /** An index with no entry for the platform asked for ("no matching manifest for linux/arm64 in the manifest list entries"). */
  PlatformNotFound: "ERR_REGISTRY_PLATFORM_NOT_FOUND",
  // --- end of manifests and platforms ---
} as const;
export type RegistryErrorCode = (typeof RegistryErrorCode)[keyof typeof RegistryErrorCode];

/** The kind of each code whose suffix does not say it (see `kindOfCode` in @store/errors). */
export const RegistryErrorKind: Partial<Record<RegistryErrorCode, ErrorKind>> = {
  // Refused credentials are the caller's input refused, as a bad option is.
  [RegistryErrorCode.Unauthorized]: "invalid",
  [RegistryErrorCode.Denied]: "invalid",
  [RegistryErrorCode.TooManyRequests]: "unavailable",
  [RegistryErrorCode.TooLarge]: "invalid",
  // A registry breaking the protocol is a dependency failing; another registry (or later) may work.
  [RegistryErrorCode.Protocol]: "unavailable",
  [RegistryErrorCode.InsecureRefused]: "invalid",
};

/** One entry of a registry's error body (`{"errors":[{"code","message","detail"}]}`). */
export interface RegistryErrorEntry {
  code: string;
  message: string;
  detail?: unknown;
}

/** What a RegistryError says about the exchange that failed. */
export interface RegistryErrorDetails extends Record<string, unknown> {
  /** The HTTP status, when a response came. */
  status?: number;
  /** The registry's `errors[]`, when it sent them. */
  errors?: RegistryErrorEntry[];
  host?: string;
  repository?: string;
}

/**
 * Every error the registry client throws; branch on `code`. Messages are one line, with docker's
 * wording where docker has one (`manifest unknown: manifest unknown`), and never carry a control
 * character from the registry raw.
 */
export class RegistryError extends StoreError<RegistryErrorCode> {
  constructor(code: RegistryErrorCode, message: string, options: StoreErrorOptions = {}) {
    const kind = options.kind ?? RegistryErrorKind[code];
    super(code, oneLine(message), kind === undefined ? options : { ...options, kind });
  }

  /** The registry's `errors[]` when it sent them (empty otherwise). */
  get registryErrors(): RegistryErrorEntry[] {
    const errors = this.details.errors;
    return Array.isArray(errors) ? (errors as RegistryErrorEntry[]) : [];
  }

  /** The HTTP status of the response that failed, when one came. */
  get status(): number | undefined {
    return typeof this.details.status === "number" ? this.details.status : undefined;
  }
}

const maxMessage = 1024;

/**
 * Text from a peer made safe for one line of a terminal: control characters (newlines, escape
 * sequences) escaped as `\u001b`, and the whole capped, so a hostile registry cannot rewrite the
 * user's screen or flood it.
 */
export function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is the point
  const escaped = text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
  return escaped.length > maxMessage ? `${escaped.slice(0, maxMessage)}…` : escaped;
}
