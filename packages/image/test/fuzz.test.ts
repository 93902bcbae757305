import { isStoreError } from "@store/errors";
import fc from "fast-check";
import { describe, it } from "vitest";
import { parseImageConfig } from "../src/image";

// Fuzzing (fast-check) of the image config parser: whatever the bytes, a parsed config or a
// typed StoreError (ERR_IMAGE_INVALID_CONFIG), never another throw.

function typedOrValue(work: () => unknown): void {
  try {
    work();
  } catch (e) {
    if (!isStoreError(e)) throw new Error(`not a StoreError: ${(e as Error)?.stack ?? String(e)}`);
  }
}

const bytes = (v: unknown) => new TextEncoder().encode(typeof v === "string" ? v : JSON.stringify(v));
const any = fc.jsonValue({ maxDepth: 2 });
const diffId = fc.oneof(fc.stringMatching(/^sha256:[0-9a-f]{64}$/), fc.stringMatching(/^[0-9a-f]{64}$/), fc.string({ maxLength: 70 }), any);
const time = fc.oneof(
  fc.constantFrom("2020-01-02T03:04:05Z", "2020-01-02T03:04:05.123456789+02:00", "0001-01-01T00:00:00Z", "2020-13-45T99:99:99Z"),
  fc.string({ maxLength: 30 }),
  any,
);

const configArb = fc.record(
  {
    architecture: fc.oneof(fc.constant("amd64"), any),
    os: fc.oneof(fc.constant("linux"), any),
    variant: any,
    created: time,
    author: any,
    config: fc.oneof(fc.record({ Env: fc.oneof(fc.array(fc.string(), { maxLength: 3 }), any), Cmd: any, Labels: any }, { requiredKeys: [] }), any),
    rootfs: fc.oneof(
      fc.record({ type: fc.oneof(fc.constant("layers"), any), diff_ids: fc.oneof(fc.array(diffId, { maxLength: 4 }), any) }, { requiredKeys: [] }),
      any,
    ),
    history: fc.oneof(
      fc.array(
        fc.oneof(fc.record({ created: time, created_by: any, empty_layer: fc.oneof(fc.boolean(), any), comment: any, author: any }, { requiredKeys: [] }), any),
        { maxLength: 5 },
      ),
      any,
    ),
    "os.version": any,
    "os.features": any,
  },
  { requiredKeys: [] },
);

describe("fuzzing parseImageConfig", () => {
  it("any bytes and any JSON", () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.jsonValue().map(bytes)), (input) => {
        typedOrValue(() => parseImageConfig(input));
      }),
      { numRuns: 1000 },
    );
  });

  it("configs with every field of any type, keys in any case", () => {
    fc.assert(
      fc.property(configArb, fc.boolean(), (config, upper) => {
        const input = upper ? Object.fromEntries(Object.entries(config).map(([k, v]) => [k.toUpperCase(), v])) : config;
        typedOrValue(() => parseImageConfig(bytes(input)));
      }),
      { numRuns: 1000 },
    );
  });
});
