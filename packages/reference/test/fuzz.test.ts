import { isStoreError } from "@store/errors";
import fc from "fast-check";
import { describe, it } from "vitest";
import { parseAnyReference, parseNormalizedNamed, parseNormalizedNamedFully, parseReference } from "../src/reference";

// Fuzzing (fast-check) of the reference parsers: any string gives a reference or a typed
// StoreError, never another throw, and in bounded time (no regular expression that backtracks
// without end on a long crafted input).

function typedOrValue(work: () => unknown): void {
  try {
    work();
  } catch (e) {
    if (!isStoreError(e)) throw new Error(`not a StoreError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

const piece = fc.constantFrom(
  "a",
  "b0",
  "-",
  "_",
  "__",
  ".",
  "/",
  ":",
  "@",
  "sha256:",
  "localhost",
  ":5000",
  "[::1]",
  "A",
  "0".repeat(64),
  "é",
  "\u0000",
  "\u001b[2J",
  "--",
  "..",
);
const refLike = fc.array(piece, { maxLength: 12 }).map((parts) => parts.join(""));
const parsers = [parseReference, parseNormalizedNamed, parseNormalizedNamedFully, parseAnyReference];

describe("fuzzing the reference parsers", () => {
  it("any string, and strings made of the grammar's pieces", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: "binary", maxLength: 40 }), refLike), (input) => {
        for (const parse of parsers) typedOrValue(() => parse(input));
      }),
      { numRuns: 2000 },
    );
  });

  it("long crafted inputs are decided in bounded time", () => {
    const started = Date.now();
    for (const input of [
      "a".repeat(100_000),
      `${"a-".repeat(50_000)}!`,
      `${"a.".repeat(30_000)}:${"0".repeat(10)}!`,
      `${"a/".repeat(40_000)}@sha256:${"0".repeat(63)}`,
      `localhost:${"5".repeat(100_000)}/a`,
      `${"a__".repeat(30_000)}A`,
    ]) {
      for (const parse of parsers) typedOrValue(() => parse(input));
    }
    if (Date.now() - started > 2_000) throw new Error(`took ${Date.now() - started} ms`);
  });

  it("non-strings from untyped callers (JSON) are typed errors", () => {
    for (const input of [undefined, null, 42, {}, []]) for (const parse of parsers) typedOrValue(() => parse(input as unknown as string));
  });
});
