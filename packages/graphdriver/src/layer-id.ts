import { GraphDriverError, GraphDriverErrorCode } from "./errors";

/**
 * Throws unless `id` can name a directory under a driver's home: one path component, not `.`
 * or `..`, no NUL. dockerd trusts its callers here; a store shared by many callers must not.
 */
export function assertLayerId(id: string, what = "layer id"): void {
  if (typeof id !== "string" || id === "" || id === "." || id === ".." || id.includes("/") || id.includes("\0") || id.length > 255) {
    throw new GraphDriverError(GraphDriverErrorCode.InvalidId, `invalid ${what} ${JSON.stringify(id)}: must be one path component`, {
      details: { id },
    });
  }
}
