import { describe, expect, it } from "vitest";
import { chainId, chainIds, parseDigest } from "../src/index";

const a = parseDigest("sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
const b = parseDigest("sha256:5f70bf18a086007016e948b04aed3b82103a36bea41755b6cddfaf10ace3c6ef");

describe("chainId", () => {
  it("has none for no layers and is the diffID for one", () => {
    expect(chainId([])).toBeUndefined();
    expect(chainId([a])?.toString()).toBe(a.toString());
  });

  it("matches moby's vector", () => {
    expect(chainId([a, b])?.toString()).toBe("sha256:a48a04e6433e0bf8a326c835e27324240d58642a486318ba4bf3e8c134a091f1");
  });

  it("chainIds gives every prefix's chain", () => {
    const ids = chainIds([a, b, a]);
    expect(ids.map(String)).toEqual([a, chainId([a, b]), chainId([a, b, a])].map(String));
  });
});
