/**
 * The registry protocol's error codes this server answers with, each with the HTTP status and
 * message distribution gives it (registry/api/errcode and api/v2/errors.go).
 */
const protocolErrors = {
  BLOB_UNKNOWN: { status: 404, message: "blob unknown to registry" },
  BLOB_UPLOAD_UNKNOWN: { status: 404, message: "blob upload unknown to registry" },
  DIGEST_INVALID: { status: 400, message: "provided digest did not match uploaded content" },
  MANIFEST_UNKNOWN: { status: 404, message: "manifest unknown" },
  NAME_INVALID: { status: 400, message: "invalid repository name" },
  NAME_UNKNOWN: { status: 404, message: "repository name not known to registry" },
  // A legacy Docker code (the spec lets it appear): the reference is neither a tag nor a digest.
  TAG_INVALID: { status: 400, message: "manifest tag did not match URI" },
  PAGINATION_NUMBER_INVALID: { status: 400, message: "invalid number of results requested" },
  RANGE_INVALID: { status: 416, message: "requested range not satisfiable" },
  // distribution answers a read-only registry's writes with 405 UNSUPPORTED.
  UNSUPPORTED: { status: 405, message: "The operation is unsupported." },
  NOT_FOUND: { status: 404, message: "page not found" },
  UNAVAILABLE: { status: 503, message: "service unavailable" },
  UNKNOWN: { status: 500, message: "unknown error" },
} as const satisfies Record<string, { status: number; message: string }>;

/** A registry protocol error code (`MANIFEST_UNKNOWN`, …). */
export type ProtocolErrorCode = keyof typeof protocolErrors;

/**
 * One failure as the registry protocol says it: a status and the body
 * `{"errors":[{"code","message","detail"}]}`. Thrown by the handlers, written by the router.
 */
export class ProtocolError extends Error {
  readonly code: ProtocolErrorCode;
  readonly status: number;
  readonly detail: unknown;
  /** Extra response headers (`Content-Range: bytes *\/size` on a 416, `Allow` on a 405). */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: ProtocolErrorCode, options: { message?: string; detail?: unknown; headers?: Record<string, string>; cause?: unknown } = {}) {
    super(options.message ?? protocolErrors[code].message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.status = protocolErrors[code].status;
    this.detail = options.detail;
    this.headers = options.headers ?? {};
  }

  /** The response body. */
  body(): string {
    // As distribution's errcode.Error: `detail` is left out when there is none.
    const entry = this.detail === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, detail: this.detail };
    return JSON.stringify({ errors: [entry] });
  }
}
