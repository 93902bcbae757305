import { describe, expect, it } from "vitest";
import { StoreError, errorKind, kindOfCode } from "../src";

describe("error kinds", () => {
  it.each([
    ["ERR_LAYER_NOT_FOUND", "notFound"],
    ["ERR_ARCHIVE_MISSING_FILE", "notFound"],
    ["ERR_LAYER_STAGED_GONE", "notFound"],
    ["ERR_IMAGE_CONFLICT", "conflict"],
    ["ERR_LAYER_IN_USE", "conflict"],
    ["ERR_INTERNAL_LOCKED", "conflict"],
    ["ERR_DIGEST_AMBIGUOUS", "conflict"],
    ["ERR_GRAPHDRIVER_LAYER_EXISTS", "conflict"],
    ["ERR_DIGEST_INVALID_FORMAT", "invalid"],
    ["ERR_ARCHIVE_INVALID_REFERENCE", "invalid"],
    ["ERR_BACKEND_EMPTY_CONTENT", "invalid"],
    ["ERR_GRAPHDRIVER_BREAKOUT", "invalid"],
    ["ERR_TAR_INVALID_HEADER", "invalid"],
    ["ERR_DIGEST_MISMATCH", "dataLoss"],
    ["ERR_BACKEND_VERIFICATION_FAILED", "dataLoss"],
    ["ERR_REFERENCE_STORE_CORRUPT", "dataLoss"],
    ["ERR_TAR_TRUNCATED", "dataLoss"],
    ["ERR_TAR_UNSUPPORTED", "unsupported"],
    ["ERR_ARCHIVE_UNSUPPORTED_PLATFORM", "unsupported"],
    ["ERR_BACKEND_CLOSED", "canceled"],
    ["ERR_BACKEND_IO", "unavailable"],
    ["ERR_SOMETHING", "internal"],
  ] as const)("%s is %s", (code, kind) => {
    expect(kindOfCode(code)).toBe(kind);
    expect(new StoreError(code, "x").kind).toBe(kind);
  });

  it("takes an explicit kind over the code's suffix, and says it in JSON", () => {
    const e = new StoreError("ERR_X_NOT_FOUND", "gone", { kind: "invalid" });
    expect(e.kind).toBe("invalid");
    expect(e.toJSON()).toMatchObject({ code: "ERR_X_NOT_FOUND", kind: "invalid" });
  });

  it("classifies system errors and aborts", () => {
    expect(errorKind(Object.assign(new Error("x"), { code: "ENOENT" }))).toBe("notFound");
    expect(errorKind(Object.assign(new Error("x"), { code: "ENOSPC" }))).toBe("unavailable");
    expect(errorKind(new DOMException("stop", "AbortError"))).toBe("canceled");
    expect(errorKind(new Error("?"))).toBe("internal");
    expect(errorKind(new StoreError("ERR_LAYER_IN_USE", "x"))).toBe("conflict");
  });
});
