import { randomUUID } from "node:crypto";
import { S3BackendError, S3BackendErrorCode } from "./s3-errors";

/** Where staged uploads that do not yet know their name live; walk lists only `content/`. */
const tmpRoot = "tmp";

/**
 * Maps the driver's relative keys onto object keys under the store's prefix. The layout is the
 * fs backend's (`<prefix>content/sha256/<hex>`, `<prefix>metadata/sha256/<hex>/<key>`), so a
 * bucket synced to disk is a valid fs store, and a store synced up is a valid bucket.
 */
export class S3Layout {
  /** "" or a prefix ending in "/". */
  readonly prefix: string;

  constructor(prefix = "") {
    if (
      typeof prefix !== "string" ||
      prefix.startsWith("/") ||
      prefix.split("/").some((s, i, all) => s === "." || s === ".." || (s === "" && i < all.length - 1))
    ) {
      throw new S3BackendError(
        S3BackendErrorCode.InvalidOptions,
        `invalid S3 key prefix ${JSON.stringify(prefix)}: use "/"-separated names without a leading "/", empty, "." or ".." segments`,
        { details: { prefix } },
      );
    }
    this.prefix = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
  }

  objectKey(key: string): string {
    return this.prefix + key;
  }

  /** A fresh object key in the temp namespace, unique across hosts. */
  tmpKey(label = "upload"): string {
    return `${this.prefix}${tmpRoot}/${label}-${randomUUID()}`;
  }
}
