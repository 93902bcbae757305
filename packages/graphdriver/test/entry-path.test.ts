import { describe, expect, it } from "vitest";
import { cleanPath, entryRelativePath } from "../src/index";

describe("cleanPath (Go's path.Clean)", () => {
  it.each([
    ["", "."],
    [".", "."],
    ["./", "."],
    ["a/b/", "a/b"],
    ["a//b/./c", "a/b/c"],
    ["a/../b", "b"],
    ["a/../../b", "../b"],
    ["../../x", "../../x"],
    ["/../x", "/x"],
    ["/", "/"],
    ["//a/", "/a"],
    ["./.wh..wh..opq", ".wh..wh..opq"],
  ])("%j → %j", (input, expected) => {
    expect(cleanPath(input)).toBe(expected);
  });
});

describe("entryRelativePath", () => {
  it("makes absolute names relative and refuses climbing out", () => {
    expect(entryRelativePath("/etc/x")).toBe("etc/x");
    expect(entryRelativePath("/")).toBe(".");
    expect(entryRelativePath("./")).toBe(".");
    expect(entryRelativePath("/../etc")).toBe("etc");
    expect(entryRelativePath("../x")).toBeUndefined();
    expect(entryRelativePath("..")).toBeUndefined();
    expect(entryRelativePath("a/../../x")).toBeUndefined();
    expect(entryRelativePath("..a/b")).toBe("..a/b");
  });
});
