import { describe, expect, it } from "vitest";
import { StoreError, isStoreError, systemErrorCode } from "../src/index";

describe("StoreError", () => {
  it("carries a stable code, details and cause", () => {
    const cause = new Error("disk");
    const e = new StoreError("ERR_X", "x failed", { cause, details: { key: "k" } });
    expect(e.code).toBe("ERR_X");
    expect(e.details).toEqual({ key: "k" });
    expect(e.cause).toBe(cause);
    expect(e.name).toBe("StoreError[ERR_X]");
    expect(e.toJSON()).toEqual({ code: "ERR_X", kind: "internal", message: "x failed", details: { key: "k" } });
  });

  it("is recognised by brand, with or without a code filter", () => {
    const e = new StoreError("ERR_A", "a");
    expect(isStoreError(e)).toBe(true);
    expect(isStoreError(e, "ERR_A")).toBe(true);
    expect(isStoreError(e, "ERR_B")).toBe(false);
    expect(isStoreError(e, ["ERR_B", "ERR_A"])).toBe(true);
    expect(isStoreError(new Error("plain"))).toBe(false);
    expect(isStoreError(null)).toBe(false);
    // A copy from another module instance carries the same global brand.
    const foreign = Object.assign(new Error("f"), { code: "ERR_A" });
    Object.defineProperty(foreign, Symbol.for("@store/errors.StoreError"), { value: true });
    expect(isStoreError(foreign, "ERR_A")).toBe(true);
  });

  it("reads system error codes", () => {
    expect(systemErrorCode(Object.assign(new Error(), { code: "ENOENT" }))).toBe("ENOENT");
    expect(systemErrorCode("nope")).toBeUndefined();
  });
});
