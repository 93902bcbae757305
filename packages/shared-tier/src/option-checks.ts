import { isMetadataKey } from "@store/metadata";
import { SharedTierError, SharedTierErrorCode } from "./errors";

/**
 * Refuses a host ID that cannot name a record (`leases/<host>`, a claim's or a run's name): one
 * segment of printable ASCII, no `/`, at most 100 characters.
 */
export function assertHostId(hostId: unknown): asserts hostId is string {
  if (typeof hostId === "string" && hostId.length <= 100 && !hostId.includes("/") && isMetadataKey(hostId)) return;
  throw new SharedTierError(
    SharedTierErrorCode.InvalidOptions,
    `invalid host ID ${JSON.stringify(hostId)}: one name of printable ASCII without "/", spaces or a leading ".", at most 100 characters`,
    { details: { hostId } },
  );
}

/** Refuses a duration that is not a finite number of milliseconds above 0 (or at least 0, with `zero`). */
export function assertDuration(name: string, ms: unknown, zero: "zero allowed" | "positive" = "positive"): asserts ms is number {
  if (typeof ms === "number" && Number.isFinite(ms) && (ms > 0 || (ms === 0 && zero === "zero allowed"))) return;
  const what = zero === "positive" ? "a positive" : "a non-negative";
  throw new SharedTierError(SharedTierErrorCode.InvalidOptions, `${name} must be ${what} number of milliseconds, got ${JSON.stringify(ms)}`, {
    details: { [name]: ms },
  });
}
