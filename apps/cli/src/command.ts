import { parseArgs } from "node:util";
import type { RegistryClientOptions } from "@store/registry";
import type { StoreService } from "@store/service";
import type { CliIO } from "./cli-io";
import { UsageError } from "./usage-error";

/** One flag of a command, declared once for parsing and for help. */
export interface OptionSpec {
  /** The long name, without dashes. */
  name: string;
  short?: string;
  type: "boolean" | "string";
  /** Repeatable (`--filter a --filter b`). */
  multiple?: boolean;
  /** What help shows after the flag name for a string flag ("string", "filter", "list"). */
  placeholder?: string;
  help: string;
  /** Shown as "(default …)" in help. */
  defaultText?: string;
}

/** What a command is given when it runs. */
export interface CommandContext {
  io: CliIO;
  /**
   * The store, opened on first call with the global options (commands that need none never open
   * it): read-only for a {@link Command.readOnly} command, else holding the root's writer lock.
   */
  store(): Promise<StoreService>;
  /** How to reach registries (for commands that need no store: login, logout). */
  registryOptions(): RegistryClientOptions;
  /** Aborted on Ctrl-C or SIGTERM (see {@link CliIO.signal}). */
  signal?: AbortSignal;
}

export interface ParsedArgs {
  values: Record<string, string | boolean | string[] | undefined>;
  positionals: string[];
}

/** A command: its usage, flags and argument count as docker declares them, and what it does. */
export interface Command {
  /** The name as typed after `store` ("images", "image ls"). */
  name: string;
  /** Other spellings shown in help ("store image ls, store image list, store images"). */
  aliases?: readonly string[];
  /** The argument part of the usage line: "[OPTIONS] [REPOSITORY[:TAG]]". */
  usage: string;
  /** One line saying what it does. */
  summary: string;
  options: readonly OptionSpec[];
  /** Positional argument count bounds. */
  args: { min: number; max?: number };
  /**
   * Only reads the store. Such a command never creates one at a `--root` that does not exist:
   * it fails, so a mistyped root is an error, not an empty listing.
   */
  readOnly?: boolean;
  /** Runs the command; resolves to the exit code (0 when nothing is returned). */
  // biome-ignore lint/suspicious/noConfusingVoidType: a command that succeeds may return nothing (exit 0)
  run(ctx: CommandContext, args: ParsedArgs): Promise<number | void>;
}

const helpOption: OptionSpec = { name: "help", short: "h", type: "boolean", help: "Print usage" };

function plural(n: number): string {
  return n === 1 ? "1 argument" : `${n} arguments`;
}

/**
 * Parses a command's arguments as docker's pflag does: flags and positionals interleaved,
 * `-aq` groups, `--flag=value`, `--` ends flags. Returns undefined when help was asked for.
 */
export function parseCommandArgs(command: Command, argv: readonly string[]): ParsedArgs | undefined {
  const full = `store ${command.name}`;
  const options: Record<string, { type: "boolean" | "string"; short?: string; multiple?: boolean }> = {};
  for (const o of [...command.options, helpOption]) {
    options[o.name] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...argv], options, allowPositionals: true, strict: true });
  } catch (e) {
    throw new UsageError(describeParseError(e as Error & { code?: string }), full);
  }
  if (parsed.values.help === true) return undefined;
  const positionals = parsed.positionals;
  const { min, max } = command.args;
  if (max !== undefined && min === max && positionals.length !== min) {
    throw new UsageError(`"${full}" requires exactly ${plural(min)}.`, full);
  }
  if (positionals.length < min) throw new UsageError(`"${full}" requires at least ${plural(min)}.`, full);
  if (max !== undefined && positionals.length > max) {
    throw new UsageError(max === 0 ? `"${full}" accepts no arguments.` : `"${full}" accepts at most ${plural(max)}.`, full);
  }
  return { values: parsed.values as ParsedArgs["values"], positionals };
}

/** node:util's messages turned into pflag's ("unknown flag: --bogus", "flag needs an argument: --format"). */
function describeParseError(e: Error & { code?: string }): string {
  const flag = /'(-{1,2}[^' ]+)/.exec(e.message)?.[1] ?? "";
  switch (e.code) {
    case "ERR_PARSE_ARGS_UNKNOWN_OPTION":
      return flag.startsWith("--") ? `unknown flag: ${flag}` : `unknown shorthand flag: '${flag.replace(/^-/, "")}' in ${flag}`;
    case "ERR_PARSE_ARGS_INVALID_OPTION_VALUE":
      return /argument missing/.test(e.message) ? `flag needs an argument: ${flag}` : `invalid value for flag ${flag}: ${e.message}`;
    default:
      return e.message;
  }
}

/** The help of one command, shaped like docker's (Usage, summary, Aliases, Options). */
export function commandHelp(command: Command): string {
  const lines = [`Usage:  store ${command.name} ${command.usage}`.trimEnd(), "", command.summary, ""];
  if (command.aliases && command.aliases.length > 0) {
    lines.push("Aliases:", `  ${command.aliases.join(", ")}`, "");
  }
  const options = [...command.options, helpOption].sort((a, b) => (a.name < b.name ? -1 : 1));
  const heads = options.map((o) => {
    const short = o.short ? `-${o.short}, ` : "    ";
    return `  ${short}--${o.name}${o.type === "string" ? ` ${o.placeholder ?? "string"}` : ""}`;
  });
  const width = Math.max(...heads.map((h) => h.length)) + 3;
  lines.push("Options:");
  options.forEach((o, i) => {
    const [first, ...rest] = `${o.help}${o.defaultText ? ` (default ${o.defaultText})` : ""}`.split("\n");
    lines.push(`${heads[i]!.padEnd(width)}${first}`);
    for (const r of rest) lines.push(`${" ".repeat(width)}${r}`);
  });
  return `${lines.join("\n")}\n`;
}

/** A string flag's value (the last one when repeated). */
export function stringValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.values[name];
  return Array.isArray(v) ? v.at(-1) : typeof v === "string" ? v : undefined;
}

/** A repeatable flag's values. */
export function listValue(args: ParsedArgs, name: string): string[] {
  const v = args.values[name];
  return Array.isArray(v) ? v : typeof v === "string" ? [v] : [];
}

export function flag(args: ParsedArgs, name: string): boolean {
  return args.values[name] === true;
}
