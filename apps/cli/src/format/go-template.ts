import { UsageError } from "../usage-error";
import { goJson } from "./go-format";

/**
 * The part of Go's text/template that docker's `--format` is used with: `{{.Field}}`,
 * `{{.A.B}}`, `{{json .}}`, `{{json .Field}}`, `{{upper …}}`, `{{lower …}}`, `{{println …}}` and
 * literal text, with `\t` and `\n` written as escapes (docker replaces them before parsing).
 * Anything else is refused with a usage error rather than printed wrong.
 */
export type Template = (value: unknown) => string;

type Action = { fn: string | undefined; path: string[] };
type Part = { text: string } | Action;

const action = /\{\{-?\s*(.*?)\s*-?\}\}/g;

function parseAction(body: string, source: string): Part {
  const words = body.split(/\s+/).filter(Boolean);
  let fn: string | undefined;
  if (words.length === 2 && ["json", "upper", "lower", "println", "print"].includes(words[0]!)) fn = words.shift();
  if (words.length !== 1 || !words[0]!.startsWith(".")) {
    throw new UsageError(`template parsing error: unsupported action {{${body}}} in ${JSON.stringify(source)}`);
  }
  const path = words[0] === "." ? [] : words[0]!.slice(1).split(".");
  if (path.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) {
    throw new UsageError(`template parsing error: bad field ${words[0]} in ${JSON.stringify(source)}`);
  }
  return { fn, path };
}

/** Go's default printing of a value (`%v`): slices as `[a b]`, maps as `map[k:v]`, nil as `<nil>`. */
export function goPrint(value: unknown): string {
  if (value === null || value === undefined) return "<nil>";
  if (Array.isArray(value)) return `[${value.map(goPrint).join(" ")}]`;
  if (typeof value === "object") {
    const keys = Object.keys(value).sort();
    return `map[${keys.map((k) => `${k}:${goPrint((value as Record<string, unknown>)[k])}`).join(" ")}]`;
  }
  return String(value);
}

function lookup(value: unknown, path: readonly string[], strict: boolean): unknown {
  let v = value;
  for (const p of path) {
    if (v === null || typeof v !== "object") return undefined;
    if (strict && !(p in v)) {
      // docker executes templates on Go structs and with missingkey=error: never "<no value>".
      throw new Error(`template: can't evaluate field ${p} (fields: ${Object.keys(v).sort().join(", ")})`);
    }
    v = (v as Record<string, unknown>)[p];
  }
  return v;
}

/** JSON as Go's encoder with SetEscapeHTML(false) writes it (U+2028/2029 still escaped). */
function plainJson(value: unknown): string {
  return (JSON.stringify(value ?? null) ?? "null").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

export interface TemplateOptions {
  /** `.` is a listing row whose JSON docker escapes as json.Marshal does. */
  rowJson?: boolean;
  /**
   * Refuse unknown fields, as Go does on docker's structs and maps (`missingkey=error`); off
   * only for header rows, which name the columns they know.
   */
  strict?: boolean;
  /**
   * How a null (or a field the JSON omitted) at a field path prints. Go prints a nil slice as
   * `[]`, a nil map as `map[]`, a nil pointer as `<nil>`, an omitted string as ``; JSON alone
   * cannot tell them apart, so the caller that knows its struct (docker's inspect types) says.
   */
  nilAs?: (path: readonly string[]) => string | undefined;
}

/** Compiles a template (after docker's `\t`/`\n` unescaping). */
export function compileTemplate(source: string, options: TemplateOptions = {}): Template {
  const text = source.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const parts: Part[] = [];
  let last = 0;
  for (const m of text.matchAll(action)) {
    if (m.index! > last) parts.push({ text: text.slice(last, m.index) });
    parts.push(parseAction(m[1]!, source));
    last = m.index! + m[0].length;
  }
  if (last < text.length) parts.push({ text: text.slice(last) });
  if (parts.some((p) => "text" in p && p.text.includes("{{"))) {
    throw new UsageError(`template parsing error: unclosed action in ${JSON.stringify(source)}`);
  }
  const strict = options.strict ?? true;
  const render = (p: Action, value: unknown): string => {
    let v: unknown;
    try {
      v = lookup(value, p.path, strict);
    } catch (e) {
      // A struct field the JSON omitted (omitempty) still exists in Go: its zero value prints.
      const zero = p.fn === undefined ? options.nilAs?.(p.path) : undefined;
      if (zero === undefined) throw e;
      return zero;
    }
    switch (p.fn) {
      case "json":
        // docker's template json func does not escape HTML, except that a listing row's
        // own MarshalJSON (`{{json .}}` on `docker images`) already did.
        return p.path.length === 0 && options.rowJson ? goJson(v ?? null) : plainJson(v);
      case "upper":
        return goPrint(v).toUpperCase();
      case "lower":
        return goPrint(v).toLowerCase();
      case "println":
        return `${goPrint(v)}\n`;
      default:
        if (v === null && options.nilAs) return options.nilAs(p.path) ?? "<nil>";
        return v === undefined ? "<no value>" : goPrint(v);
    }
  };
  // One string built in a loop: a template runs once per row of a 10,000-image listing.
  return (value) => {
    let out = "";
    for (const p of parts) out += "text" in p ? p.text : render(p, value);
    return out;
  };
}

/** The top-level fields an output format reads; undefined for all of them (JSON, `{{json .}}`). */
export function formatFields(format: OutputFormat): Set<string> | undefined {
  return format.kind === "json" ? undefined : templateFields(format.kind === "table" ? format.template : format.source);
}

/**
 * The top-level fields a template reads, or undefined when it reads the whole value
 * (`{{json .}}`, `{{.}}`): a listing then computes only those fields of each row.
 */
export function templateFields(source: string): Set<string> | undefined {
  const fields = new Set<string>();
  for (const m of source.matchAll(action)) {
    const word = m[1]!.split(/\s+/).filter(Boolean).at(-1) ?? "";
    if (word === ".") return undefined;
    if (word.startsWith(".")) fields.add(word.slice(1).split(".")[0]!);
  }
  return fields;
}

/** How a listing command prints its rows, from its `--format` value. */
export type OutputFormat =
  | { kind: "table"; template: string }
  | { kind: "json" }
  | { kind: "template"; template: Template; source: string };

/**
 * docker's format selection: "" or "table" for the command's default table, "json" for one JSON
 * object per line, "table TEMPLATE" for a table of chosen columns with headers, else a bare
 * template printed once per row.
 */
export function parseOutputFormat(format: string | undefined, defaultTable: string): OutputFormat {
  if (format === undefined || format === "" || format === "table") return { kind: "table", template: defaultTable };
  if (format === "json") return { kind: "json" };
  if (format.startsWith("table ")) return { kind: "table", template: format.slice(6) };
  return { kind: "template", template: compileTemplate(format, { strict: true, rowJson: true }), source: format };
}

/**
 * The rows of a listing as docker prints them: a tab-separated table under its header (aligned by
 * the caller's tabwriter), JSON lines, or the template per row.
 */
export function renderRows(format: OutputFormat, rows: readonly Record<string, string>[], headers: Record<string, string>): { table?: string[][]; lines?: string[] } {
  if (format.kind === "json") return { lines: rows.map((r) => goJson(sortKeys(r))) };
  if (format.kind === "template") return { lines: rows.map((r) => format.template(r)) };
  const template = compileTemplate(format.template, { strict: true, rowJson: true });
  const header = compileTemplate(format.template, { strict: false })(headers).split("\t");
  return { table: [header, ...rows.map((r) => template(r).split("\t"))] };
}

function sortKeys(row: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.keys(row).sort().map((k) => [k, row[k]!]));
}
