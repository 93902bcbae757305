import { isStoreError } from "@store/errors";
import { sleep } from "@store/internal";
import type { MetadataStore } from "@store/metadata";
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

/** How often a record that does not parse is read again, and how long apart, before it counts as damaged. */
const TORN_READS = 4;
const TORN_READ_WAIT_MS = 25;

/**
 * Reads the record at `key` and parses it with `parse`; undefined when there is none. Claims,
 * leases and collections are rewritten in place, and a store whose PUT is not atomic (s3rver
 * writes the object's file in place) can answer a read with a write half done: a record that
 * does not parse is read again a few times, ~75 ms in all, before it is reported damaged.
 */
export async function readRecord<T>(
  store: MetadataStore,
  key: string,
  parse: (key: string, data: Uint8Array) => T,
): Promise<{ value: T; version: string } | undefined> {
  for (let attempt = 1; ; attempt++) {
    const record = await store.get(key);
    if (record === undefined) return undefined;
    try {
      return { value: parse(key, record.data), version: record.version };
    } catch (e) {
      if (!isStoreError(e, SharedTierErrorCode.Corrupt) || attempt >= TORN_READS) throw e;
    }
    await sleep(TORN_READ_WAIT_MS);
  }
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
