/**
 * The base of every error a @store package throws.
 *
 * Callers branch on `code`, which stays stable across releases; `message` is for people and may
 * change. `instanceof` fails when an ESM and a CJS copy of a package are loaded side by side, so
 * errors also carry a `Symbol.for` brand that {@link isStoreError} checks instead.
 */
import { type ErrorKind, kindOfCode } from "./error-kind";

const brand = Symbol.for("@store/errors.StoreError");

export interface StoreErrorOptions {
  /** The error that led to this one. */
  cause?: unknown;
  /** Structured facts about the failure (the digest, key or path it concerns). */
  details?: Record<string, unknown>;
  /** The category, when the code's suffix does not say it (see {@link kindOfCode}). */
  kind?: ErrorKind;
}

export class StoreError<Code extends string = string> extends Error {
  readonly code: Code;
  readonly details: Readonly<Record<string, unknown>>;
  /** The category of failure (not found, conflict, invalid, …), for mapping to a status code. */
  readonly kind: ErrorKind;

  constructor(code: Code, message: string, options: StoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? {};
    this.kind = options.kind ?? kindOfCode(code);
    // Set in the constructor, not as a computed class member: isolatedDeclarations rejects those.
    Object.defineProperty(this, brand, { value: true, enumerable: false });
  }

  override get name(): string {
    return `StoreError[${this.code}]`;
  }

  /** The error as plain JSON (for CLIs and HTTP APIs). */
  toJSON(): { code: string; kind: ErrorKind; message: string; details: Record<string, unknown> } {
    return { code: this.code, kind: this.kind, message: this.message, details: { ...this.details } };
  }
}

/** True when `error` is a StoreError (from any loaded copy of this package), optionally of `code`. */
export function isStoreError<C extends string = string>(error: unknown, code?: C | readonly C[]): error is StoreError<C> {
  if (typeof error !== "object" || error === null || (error as Record<symbol, unknown>)[brand] !== true) {
    return false;
  }
  if (code === undefined) return true;
  const actual = (error as StoreError).code;
  return typeof code === "string" ? actual === code : (code as readonly string[]).includes(actual);
}

/** Node's system error codes (ENOENT, EEXIST, …) when `error` carries one. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && typeof (error as { code?: unknown }).code === "string") {
    return (error as { code: string }).code;
  }
  return undefined;
}

/**
 * The kind of any thrown value: a StoreError's own; Node's system errors by errno (ENOENT is
 * notFound, EEXIST conflict, ENOSPC/EIO unavailable, EINVAL invalid); an AbortError canceled;
 * anything else internal.
 */
export function errorKind(error: unknown): ErrorKind {
  if (isStoreError(error)) return error.kind;
  if (typeof error === "object" && error !== null && (error as { name?: unknown }).name === "AbortError") return "canceled";
  switch (systemErrorCode(error)) {
    case "ENOENT":
    case "ENOTDIR":
      return "notFound";
    case "EEXIST":
    case "ENOTEMPTY":
    case "EBUSY":
      return "conflict";
    case "EINVAL":
    case "ENAMETOOLONG":
    case "ELOOP":
      return "invalid";
    case "EACCES":
    case "EPERM":
    case "EROFS":
    case "ENOSPC":
    case "EDQUOT":
    case "EIO":
    case "EMFILE":
    case "ENFILE":
    case "ECONNREFUSED":
    case "ECONNRESET":
    case "ETIMEDOUT":
      return "unavailable";
    case "ABORT_ERR":
      return "canceled";
    default:
      return "internal";
  }
}
