// What Go escapes (with HTML escaping, the Encoder default), plus surrogates, which need a look.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what Go escapes
const NEEDS_ESCAPE = /[\u0000-\u001f"\\<>&\u2028\u2029\ud800-\udfff]/;

/**
 * JSON text exactly as Go's encoding/json.Marshal writes it, for the files dockerd reads back
 * and compares (repositories.json, distribution metadata). Differences from JSON.stringify that
 * matter: `<`, `>`, `&`, U+2028 and U+2029 are escaped as \u003c…; map keys are sorted by
 * their bytes (JavaScript objects put integer-like keys such as "10" first, so objects are never
 * serialised through JSON.stringify here); lone surrogates become U+FFFD. Control characters
 * other than `\n`, `\r`, `\t` are written `\u00XX` (lower-case hex), as Go 1.19 (dockerd 20.10)
 * does; Go 1.22+ writes `\b` and `\f` short.
 *
 * Why U+FFFD: Go strings are bytes, and encoding/json writes invalid UTF-8 as U+FFFD. A lone
 * surrogate has no UTF-8 form; Node's encoder writes it as U+FFFD, which is what Go would then
 * keep. Passing it through (as tar-split's own copy once did) gives the same bytes on disk but a
 * JavaScript string that differs from them, so hashes of the string and of the file disagree.
 */
export function goJsonString(text: string): string {
  // Most strings (names, digests, paths) need no escape: one scan, no copy.
  if (!NEEDS_ESCAPE.test(text)) return `"${text}"`;
  let out = '"';
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    let esc: string | undefined;
    if (c === 0x22) esc = '\\"';
    else if (c === 0x5c) esc = "\\\\";
    else if (c === 0x0a) esc = "\\n";
    else if (c === 0x0d) esc = "\\r";
    else if (c === 0x09) esc = "\\t";
    else if (c < 0x20 || c === 0x3c || c === 0x3e || c === 0x26 || c === 0x2028 || c === 0x2029) {
      esc = `\\u${c.toString(16).padStart(4, "0")}`;
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = text.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        i++; // a valid pair passes through
        continue;
      }
      esc = "\ufffd";
    }
    if (esc !== undefined) {
      out += text.slice(start, i) + esc;
      start = i + 1;
    }
  }
  return `${out}${text.slice(start)}"`;
}

/** Byte order of UTF-8, which for strings without lone surrogates is code-point order. */
export function compareGoStrings(a: string, b: string): number {
  // UTF-16 order differs from code-point order only above U+FFFF vs U+E000-U+FFFF.
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.codePointAt(i)!;
    const y = b.codePointAt(i)!;
    if (x !== y) return x < y ? -1 : 1;
    if (x > 0xffff) i++;
  }
  return a.length - b.length;
}

/** A Go map[string]T as JSON: keys sorted by bytes, values already encoded by `encode`. */
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

/**
 * A decoded JSON value as Go's json.Marshal writes it: strings escaped as Go escapes them
 * (`<` → `\u003c`); objects as maps (keys sorted by bytes), or with `structOrder` as Go structs
 * (keys in the object's own order, for values built field by field like an image config).
 */
export function goJsonValue(value: unknown, structOrder = false): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "string") return goJsonString(value);
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  const encode = (v: unknown) => goJsonValue(v, structOrder);
  if (Array.isArray(value)) return `[${value.map(encode).join(",")}]`;
  if (typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>);
    return structOrder ? goJsonStruct(entries.map(([k, v]) => [k, v === undefined ? undefined : encode(v)])) : goJsonMap(entries, encode);
  }
  return "null";
}
