import { goJsonString } from "@store/tar-split";
import { isJsonObject } from "./json-fields";

export { goJsonString };

/** Go's byte order of UTF-8 strings (map keys are sorted by it), which is code-point order. */
export function compareGoStrings(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/**
 * A decoded JSON value as Go's json.Marshal writes an `interface{}` holding it: objects are maps
 * (keys sorted by bytes), strings escaped as Go escapes them (`<` → `\u003c`).
 */
export function goJsonValue(value: unknown): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (Array.isArray(value)) return `[${value.map(goJsonValue).join(",")}]`;
  if (isJsonObject(value)) return goJsonMap(Object.entries(value), goJsonValue);
  return "null";
}

/** A Go map[string]T: keys sorted by bytes, values encoded by `encode`. */
export function goJsonMap<T>(entries: Iterable<readonly [string, T]>, encode: (value: T) => string): string {
  const sorted = [...entries].sort((a, b) => compareGoStrings(a[0], b[0]));
  return `{${sorted.map(([k, v]) => `${goJsonString(k)}:${encode(v)}`).join(",")}}`;
}

/** A Go struct: fields in declaration order, each already encoded; undefined values (omitempty) left out. */
export function goJsonStruct(fields: Array<readonly [string, string | undefined]>): string {
  return `{${fields
    .filter((f): f is readonly [string, string] => f[1] !== undefined)
    .map(([k, v]) => `${goJsonString(k)}:${v}`)
    .join(",")}}`;
}
