import { describe, expect, it } from "vitest";
import { causeChain } from "../src";

describe("causeChain", () => {
  it("yields an error and what it wraps, outermost first, and ends on a cycle", () => {
    const inner = new Error("inner");
    const outer = new Error("outer", { cause: inner });
    expect([...causeChain(outer)]).toEqual([outer, inner]);
    const loop = new Error("loop") as Error & { cause?: unknown };
    loop.cause = loop;
    expect([...causeChain(loop, 3)]).toHaveLength(3);
    expect([...causeChain(undefined)]).toEqual([]);
  });
});
