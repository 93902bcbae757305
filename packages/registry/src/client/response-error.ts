import { STATUS_CODES } from "node:http";
import { RegistryError, RegistryErrorCode, type RegistryErrorEntry } from "../errors";

/** Where an error happened, for its message and details. */
export interface ErrorContext {
  /** Prefix of the message (`manifest for x:latest not found`); the registry's text follows. */
  what?: string;
  host?: string;
  repository?: string;
}

/** The code of a registry's error body entry as docker prints it: `MANIFEST_UNKNOWN` → `manifest unknown`. */
function codeText(code: string): string {
  return code.toLowerCase().replace(/_/g, " ");
}

/** The `errors[]` of a registry's error body (distribution-spec), or of a token server's `{details}`. */
export function parseErrorBody(body: Uint8Array): RegistryErrorEntry[] {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(body).toString("utf8"));
  } catch {
    return [];
  }
  if (typeof parsed !== "object" || parsed === null) return [];
  const errors = (parsed as { errors?: unknown }).errors;
  if (Array.isArray(errors)) {
    return errors
      .filter((e): e is Record<string, unknown> => typeof e === "object" && e !== null)
      .map((e) => {
        const entry: RegistryErrorEntry = { code: typeof e.code === "string" ? e.code : "UNKNOWN", message: typeof e.message === "string" ? e.message : "" };
        if (e.detail !== undefined) entry.detail = e.detail;
        return entry;
      });
  }
  // Docker Hub's token server: {"details":"incorrect username or password"}.
  const details = (parsed as { details?: unknown }).details;
  if (typeof details === "string") return [{ code: "UNAUTHORIZED", message: details }];
  return [];
}

/** The registry's errors as docker's errcode prints them: `manifest unknown: manifest unknown`, joined by `; `. */
export function formatRegistryErrors(errors: readonly RegistryErrorEntry[]): string {
  return errors.map((e) => (e.message ? `${codeText(e.code)}: ${e.message}` : codeText(e.code))).join("; ");
}

function codeFor(status: number, errors: readonly RegistryErrorEntry[]): RegistryErrorCode {
  const first = errors[0]?.code;
  switch (first) {
    case "MANIFEST_UNKNOWN":
    case "BLOB_UNKNOWN":
    case "NAME_UNKNOWN":
    case "BLOB_UPLOAD_UNKNOWN":
      return RegistryErrorCode.NotFound;
    case "UNAUTHORIZED":
      return RegistryErrorCode.Unauthorized;
    case "DENIED":
      return RegistryErrorCode.Denied;
    case "TOOMANYREQUESTS":
      return RegistryErrorCode.TooManyRequests;
    case "UNSUPPORTED":
      return RegistryErrorCode.Unsupported;
    case "DIGEST_INVALID":
      return RegistryErrorCode.DigestMismatch;
    case "NAME_INVALID":
    case "TAG_INVALID":
    case "MANIFEST_INVALID":
    case "MANIFEST_BLOB_UNKNOWN":
    case "SIZE_INVALID":
    case "BLOB_UPLOAD_INVALID":
      return RegistryErrorCode.Invalid;
  }
  if (status === 401) return RegistryErrorCode.Unauthorized;
  if (status === 403) return RegistryErrorCode.Denied;
  if (status === 404) return RegistryErrorCode.NotFound;
  if (status === 429) return RegistryErrorCode.TooManyRequests;
  if (status === 413) return RegistryErrorCode.TooLarge;
  if (status >= 500 || status === 408) return RegistryErrorCode.Unavailable;
  return RegistryErrorCode.Protocol;
}

/**
 * The RegistryError for a failed response: the code from the registry's `errors[]` (else the
 * status), the message docker would print (`<what>: manifest unknown: manifest unknown`, or
 * `received unexpected HTTP status: 500 Internal Server Error` without an error body).
 */
export function registryErrorFromBody(status: number, body: Uint8Array, context: ErrorContext = {}): RegistryError {
  const errors = parseErrorBody(body);
  const text = errors.length > 0 ? formatRegistryErrors(errors) : `received unexpected HTTP status: ${status} ${STATUS_CODES[status] ?? ""}`.trimEnd();
  const message = context.what ? `${context.what}: ${text}` : text;
  const details: Record<string, unknown> = { status };
  if (errors.length > 0) details.errors = errors;
  if (context.host !== undefined) details.host = context.host;
  if (context.repository !== undefined) details.repository = context.repository;
  return new RegistryError(codeFor(status, errors), message, { details });
}
