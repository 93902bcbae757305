import type { FilterInput } from "@store/image";
import { DaemonError, DaemonErrorCode } from "../errors";

/**
 * A query boolean as dockerd reads it (httputils.BoolValue): false for "", "0", "no", "false"
 * and "none" (trimmed, any case), true for anything else; `fallback` when absent.
 */
export function boolParam(query: URLSearchParams, name: string, fallback = false): boolean {
  const value = query.get(name);
  if (value === null) return fallback;
  return !["", "0", "no", "false", "none"].includes(value.trim().toLowerCase());
}

/**
 * The `filters` parameter: JSON in either encoding, `{"dangling":{"true":true}}` or the legacy
 * `{"dangling":["true"]}` dockerode sends; absent or empty is no filter.
 */
export function filtersParam(query: URLSearchParams): FilterInput {
  const text = query.get("filters");
  if (text === null || text === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid filters ${JSON.stringify(text.slice(0, 100))}: ${(e as Error).message}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid filters ${JSON.stringify(text.slice(0, 100))}: expected a JSON object`);
  }
  return parsed as FilterInput;
}

/** A required, non-empty parameter. */
export function requiredParam(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (!value) throw new DaemonError(DaemonErrorCode.InvalidParameter, `missing parameter: ${name}`);
  return value;
}
