import { UsageError } from "../usage-error";
import { goJson } from "./go-format";

/**
 * The part of Go's text/template that docker's `--format` is used with: fields (`{{.Field}}`,
 * `{{.A.B}}`, `{{.}}`), `{{range …}}…{{else}}…{{end}}`, `{{if …}}…{{else}}…{{end}}`, string and
 * number literals, and docker's functions `json`, `join`, `index`, `len`, `upper`, `lower`,
 * `title`, `print`, `println`; `{{- … -}}` trims the whitespace beside it. `\t` and `\n` are
 * written as escapes (docker replaces them before parsing). Anything else is refused with a usage
 * error rather than printed wrong.
 */
export type Template = (value: unknown) => string;

/** A value in an action: a field path from dot, or a literal. */
type Operand = { field: string[] } | { literal: unknown };
type Expr = { fn: string | undefined; args: Operand[] };
type Node =
  | { kind: "text"; text: string }
  | { kind: "print"; expr: Expr }
  | { kind: "range" | "if"; expr: Expr; body: Node[]; otherwise: Node[]; inElse: boolean };

const FUNCS = new Set(["json", "join", "index", "len", "upper", "lower", "title", "print", "println"]);
const action = /\{\{([\s\S]*?)\}\}/g;
const token = /"(?:[^"\\]|\\.)*"|[^\s]+/g;

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
    if (strict && !Object.hasOwn(v, p)) {
      // docker executes templates on Go structs and with missingkey=error: never "<no value>".
      throw new Error(`template: can't evaluate field ${p} (fields: ${Object.keys(v).sort().join(", ")})`);
    }
    v = Object.hasOwn(v, p) ? (v as Record<string, unknown>)[p] : undefined;
  }
  return v;
}

/** A Go interpreted string literal's value (strconv.Unquote): `\t`, `\n`, `\xNN`, `\uNNNN`… */
function goUnquote(word: string, source: string): string {
  if (word.length < 2 || !word.endsWith('"') || word.includes("\n")) throw parseError(`bad string ${word}`, source);
  const body = word.slice(1, -1);
  const simple: Record<string, string> = { a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v", "\\": "\\", '"': '"' };
  let out = "";
  for (let i = 0; i < body.length; i++) {
    const c = body[i]!;
    if (c !== "\\") {
      out += c;
      continue;
    }
    const e = body[++i];
    if (e !== undefined && e in simple) out += simple[e];
    else if (e === "x" && /^[0-9a-fA-F]{2}$/.test(body.slice(i + 1, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === "u" && /^[0-9a-fA-F]{4}$/.test(body.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(body.slice(i + 1, i + 5), 16));
      i += 4;
    } else if (e !== undefined && /^[0-7]{3}$/.test(body.slice(i, i + 3))) {
      out += String.fromCharCode(parseInt(body.slice(i, i + 3), 8));
      i += 2;
    } else throw parseError(`bad escape in string ${word}`, source);
  }
  return out;
}

/** JSON as Go's encoder with SetEscapeHTML(false) writes it (U+2028/2029 still escaped). */
function plainJson(value: unknown): string {
  return (JSON.stringify(value ?? null) ?? "null").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
}

/** Go's truth: false, 0, nil and empty strings, slices and maps are false. */
function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (typeof v === "object") return Object.keys(v).length > 0;
  return true;
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

function parseError(message: string, source: string): UsageError {
  return new UsageError(`template parsing error: ${message} in ${JSON.stringify(source)}`);
}

function parseOperand(word: string, source: string): Operand {
  if (word.startsWith('"')) return { literal: goUnquote(word, source) };
  if (/^-?\d+$/.test(word)) return { literal: Number(word) };
  if (word === "true" || word === "false") return { literal: word === "true" };
  if (!word.startsWith(".")) throw parseError(`unsupported operand ${word}`, source);
  const field = word === "." ? [] : word.slice(1).split(".");
  if (field.some((p) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(p))) throw parseError(`bad field ${word}`, source);
  return { field };
}

function parseExpr(words: string[], body: string, source: string): Expr {
  if (words.length === 0) throw parseError(`empty action {{${body}}}`, source);
  const [first, ...rest] = words as [string, ...string[]];
  if (FUNCS.has(first)) {
    if (rest.length === 0) throw parseError(`${first} needs an argument in {{${body}}}`, source);
    return { fn: first, args: rest.map((w) => parseOperand(w, source)) };
  }
  if (rest.length > 0) throw parseError(`unsupported action {{${body}}}`, source);
  return { fn: undefined, args: [parseOperand(first, source)] };
}

/** Parses a template into a tree (text, prints, range and if blocks). */
function parse(source: string): Node[] {
  const text = source.replace(/\\t/g, "\t").replace(/\\n/g, "\n");
  const root: Node[] = [];
  const open: Array<Extract<Node, { kind: "range" | "if" }>> = [];
  const into = () => {
    const top = open.at(-1);
    return top ? (top.inElse ? top.otherwise : top.body) : root;
  };
  let last = 0;
  let trimNext = false;
  for (const m of text.matchAll(action)) {
    let before = text.slice(last, m.index);
    let body = m[1]!;
    if (trimNext) before = before.trimStart();
    if (/^-\s/.test(body)) {
      before = before.trimEnd();
      body = body.slice(1);
    }
    trimNext = /\s-$/.test(body);
    if (trimNext) body = body.slice(0, -1);
    if (before) into().push({ kind: "text", text: before });
    last = m.index! + m[0].length;
    const words = body.match(token) ?? [];
    const keyword = words[0];
    if (keyword === "range" || keyword === "if") {
      const node = { kind: keyword, expr: parseExpr(words.slice(1), body, source), body: [], otherwise: [], inElse: false } as Extract<
        Node,
        { kind: "range" | "if" }
      >;
      into().push(node);
      open.push(node);
    } else if (keyword === "else" && words.length === 1) {
      const top = open.at(-1);
      if (!top || top.inElse) throw parseError("unexpected {{else}}", source);
      top.inElse = true;
    } else if (keyword === "end" && words.length === 1) {
      if (!open.pop()) throw parseError("unexpected {{end}}", source);
    } else {
      into().push({ kind: "print", expr: parseExpr(words, body, source) });
    }
  }
  let rest = text.slice(last);
  if (trimNext) rest = rest.trimStart();
  if (rest.includes("{{")) throw parseError("unclosed action", source);
  if (rest) into().push({ kind: "text", text: rest });
  if (open.length > 0) throw parseError(`unexpected EOF: {{${open.at(-1)!.kind}}} has no {{end}}`, source);
  return root;
}

/** Compiles a template (after docker's `\t`/`\n` unescaping). */
export function compileTemplate(source: string, options: TemplateOptions = {}): Template {
  const tree = parse(source);
  const strict = options.strict ?? true;

  // A field of dot; at the top level a field the JSON omitted (omitempty) is its Go zero value.
  const field = (path: string[], dot: unknown, atRoot: boolean): { value: unknown; zero?: string } => {
    try {
      const value = lookup(dot, path, strict);
      const zero = value === null && atRoot ? options.nilAs?.(path) : undefined;
      return zero === undefined ? { value } : { value, zero };
    } catch (e) {
      const zero = atRoot ? options.nilAs?.(path) : undefined;
      if (zero === undefined) throw e;
      return { value: null, zero };
    }
  };
  const operand = (op: Operand, dot: unknown, atRoot: boolean) => ("literal" in op ? op.literal : field(op.field, dot, atRoot).value);

  const call = (expr: Expr, dot: unknown, atRoot: boolean): unknown => {
    const args = expr.args.map((a) => operand(a, dot, atRoot));
    const [x] = args;
    switch (expr.fn) {
      case "json": {
        // docker's template json func does not escape HTML, except that a listing row's
        // own MarshalJSON (`{{json .}}` on `docker images`) already did.
        const whole = atRoot && "field" in expr.args[0]! && expr.args[0].field.length === 0;
        return whole && options.rowJson ? goJson(x ?? null) : plainJson(x);
      }
      case "join":
        if (x === null || x === undefined) return ""; // a nil slice joins to nothing
        return Array.isArray(x) ? x.map(goPrint).join(args[1] === undefined ? "" : String(args[1])) : goPrint(x);
      case "index": {
        let v = x;
        for (const key of args.slice(1)) {
          if (Array.isArray(v) && typeof key === "number") {
            if (key < 0 || key >= v.length) throw new Error(`template: index out of range: ${key}`);
            v = v[key];
          } else if (v !== null && typeof v === "object" && !Array.isArray(v)) {
            // A missing map key is the map's zero value: "" for docker's string maps.
            v = Object.hasOwn(v, String(key)) ? (v as Record<string, unknown>)[String(key)] : "";
          } else if ((v === null || v === undefined) && typeof key === "string") {
            v = ""; // a nil map indexes to its zero value too
          } else {
            throw new Error(`template: can't index ${goPrint(v)} with ${goPrint(key)}`);
          }
        }
        return v;
      }
      case "len":
        if (typeof x === "string") return Buffer.byteLength(x); // Go counts bytes
        if (Array.isArray(x)) return x.length;
        if (x !== null && typeof x === "object") return Object.keys(x).length;
        if (x === null || x === undefined) return 0;
        throw new Error(`template: len of ${goPrint(x)}`);
      case "upper":
        return goPrint(x).toUpperCase();
      case "lower":
        return goPrint(x).toLowerCase();
      case "title":
        // strings.Title: a letter after anything but a letter, digit or underscore.
        return goPrint(x).replace(/(^|[^\p{L}\p{N}_])(\p{L})/gu, (_, a: string, b: string) => a + b.toUpperCase());
      case "print":
        // fmt.Sprint: a space between operands when neither is a string.
        return args.map((a, i) => (i > 0 && typeof a !== "string" && typeof args[i - 1] !== "string" ? " " : "") + goPrint(a)).join("");
      case "println":
        return `${args.map(goPrint).join(" ")}\n`;
      default:
        return x;
    }
  };

  const text = (value: unknown): string => (value === undefined ? "<no value>" : typeof value === "string" ? value : goPrint(value));

  const run = (nodes: readonly Node[], dot: unknown, atRoot: boolean): string => {
    let out = "";
    for (const n of nodes) {
      if (n.kind === "text") out += n.text;
      else if (n.kind === "print") {
        const only = n.expr.args[0]!;
        if (n.expr.fn === undefined && "field" in only) {
          const f = field(only.field, dot, atRoot);
          out += f.zero ?? text(f.value);
        } else {
          out += text(call(n.expr, dot, atRoot));
        }
      } else if (n.kind === "if") {
        out += run(truthy(call(n.expr, dot, atRoot)) ? n.body : n.otherwise, dot, atRoot);
      } else {
        const over = call(n.expr, dot, atRoot);
        const items = Array.isArray(over)
          ? over
          : over !== null && typeof over === "object"
            ? Object.keys(over)
                .sort()
                .map((k) => (over as Record<string, unknown>)[k])
            : over === null || over === undefined
              ? []
              : undefined;
        if (items === undefined) throw new Error(`template: range can't iterate over ${goPrint(over)}`);
        if (items.length === 0) out += run(n.otherwise, dot, atRoot);
        for (const item of items) out += run(n.body, item, false);
      }
    }
    return out;
  };
  return (value) => run(tree, value, true);
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
    for (const word of m[1]!.match(token) ?? []) {
      // Inside a range, dot is an element: which row fields it reads is not worth guessing.
      if (word === "." || word === "range") return undefined;
      if (word.startsWith(".")) fields.add(word.slice(1).split(".")[0]!);
    }
  }
  return fields;
}

/** How a listing command prints its rows, from its `--format` value. */
export type OutputFormat = { kind: "table"; template: string } | { kind: "json" } | { kind: "template"; template: Template; source: string };

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
export function renderRows(
  format: OutputFormat,
  rows: readonly Record<string, string>[],
  headers: Record<string, string>,
): { table?: string[][]; lines?: string[] } {
  if (format.kind === "json") return { lines: rows.map((r) => goJson(sortKeys(r))) };
  if (format.kind === "template") return { lines: rows.map((r) => format.template(r)) };
  const template = compileTemplate(format.template, { strict: true, rowJson: true });
  const header = compileTemplate(format.template, { strict: false })(headers).split("\t");
  return { table: [header, ...rows.map((r) => template(r).split("\t"))] };
}

function sortKeys(row: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(row)
      .sort()
      .map((k) => [k, row[k]!]),
  );
}
