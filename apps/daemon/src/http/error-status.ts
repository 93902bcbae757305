import { type ErrorKind, isStoreError } from "@store/errors";

/**
 * The HTTP status of each error kind: the one table (dockerd's httpstatus.FromError over its
 * errdefs classes). `dataLoss`, `canceled` and `internal` are the daemon's failures: 500.
 */
const statusOfKind: Record<ErrorKind, number> = {
  notFound: 404,
  conflict: 409,
  invalid: 400,
  unsupported: 501,
  unavailable: 503,
  dataLoss: 500,
  canceled: 500,
  internal: 500,
};

/**
 * Codes dockerd answers differently from their kind. A registry's refusal is 404 on pull and
 * push (moby distribution/errors.go): a 401 would make the docker CLI start an interactive
 * login, which fails on a non-TTY. Only `POST /auth` answers 401 (see the auth route).
 */
const statusOfCode: Record<string, number> = {
  ERR_REGISTRY_UNAUTHORIZED: 404,
  ERR_REGISTRY_DENIED: 404,
};

/** The status and `{"message"}` text an error gets. Errors that are no StoreError are 500. */
export function errorStatus(error: unknown): { status: number; message: string } {
  if (isStoreError(error)) return { status: statusOfCode[error.code] ?? statusOfKind[error.kind], message: error.message };
  return { status: 500, message: error instanceof Error ? error.message : String(error) };
}
