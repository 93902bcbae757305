import { SharedTierError, SharedTierErrorCode } from "./errors";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** A record's bytes: its JSON, as every host writes and reads it. */
export function encodeRecord(value: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(value));
}

/**
 * Parses the record at `key` and checks its shape with `check` (which says what is wrong, or
 * undefined when nothing is). A record that does not parse was written by something else, or
 * damaged: ERR_SHARED_CORRUPT naming the key, never a guess at what it meant.
 */
export function decodeRecord<T>(key: string, data: Uint8Array, check: (value: Record<string, unknown>) => string | undefined): T {
  let value: unknown;
  try {
    value = JSON.parse(decoder.decode(data));
  } catch (e) {
    throw corrupt(key, `not JSON (${(e as Error).message})`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw corrupt(key, "not a JSON object");
  const problem = check(value as Record<string, unknown>);
  if (problem !== undefined) throw corrupt(key, problem);
  return value as T;
}

function corrupt(key: string, why: string): SharedTierError {
  return new SharedTierError(SharedTierErrorCode.Corrupt, `shared record ${JSON.stringify(key)} is damaged or not ours: ${why}`, { details: { key } });
}

/** Whether `value` is an RFC 3339 time that parses. */
export function isTime(value: unknown): value is string {
  return typeof value === "string" && !Number.isNaN(Date.parse(value));
}

/** Whether `value` is an array of strings. */
export function isStringArray(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}
