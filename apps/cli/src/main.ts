import { resolve } from "node:path";
import { type RegistryClientOptions, dockerConfigDir } from "@store/registry";
import { type StoreService, defaultRoot, openStore } from "@store/service";
import { terminalSafe } from "./terminal-safe";
import { type CliIO, write } from "./cli-io";
import { type Command, type CommandContext, commandHelp, parseCommandArgs } from "./command";
import { imageSubcommands, topLevelCommands } from "./command-table";

import { type GlobalOptions, globalOptionHelp, parseGlobalOptions } from "./global-options";
import type { StoreOptions } from "./store-options";
import { USAGE_EXIT_CODE, UsageError } from "./usage-error";
import { STORE_VERSION } from "./version";

/** The store options the global flags and the environment give. */
export function storeOptions(options: GlobalOptions, env: CliIO["env"]): StoreOptions {
  const backend = options.backend ?? (env.STORE_BACKEND as StoreOptions["backend"] | undefined) ?? "fs";
  if (backend !== "fs" && backend !== "memory" && backend !== "s3") throw new UsageError(`invalid STORE_BACKEND "${backend}": must be fs, memory or s3`);
  const bucket = options.s3Bucket ?? env.STORE_S3_BUCKET;
  const prefix = options.s3Prefix ?? env.STORE_S3_PREFIX;
  const endpoint = options.s3Endpoint ?? env.STORE_S3_ENDPOINT ?? env.AWS_ENDPOINT_URL_S3 ?? env.AWS_ENDPOINT_URL;
  const region = options.s3Region ?? env.STORE_S3_REGION ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  // Read from the CLI's environment (not the SDK's process.env), so in-process runs see theirs.
  const credentials =
    env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
      ? {
          accessKeyId: env.AWS_ACCESS_KEY_ID,
          secretAccessKey: env.AWS_SECRET_ACCESS_KEY,
          ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
        }
      : undefined;
  const downloads = positiveInt(options.maxConcurrentDownloads, "--max-concurrent-downloads");
  const uploads = positiveInt(options.maxConcurrentUploads, "--max-concurrent-uploads");
  return {
    registry: registryOptions(options, env),
    ...(downloads ? { maxConcurrentDownloads: downloads } : {}),
    ...(uploads ? { maxConcurrentUploads: uploads } : {}),
    root: options.root ?? defaultRoot(env),
    driver: options.storageDriver ?? env.STORE_STORAGE_DRIVER ?? "overlay2",
    backend,
    ...(backend === "s3"
      ? {
          s3: {
            bucket: bucket ?? "",
            ...(prefix ? { prefix } : {}),
            ...(endpoint ? { endpoint } : {}),
            ...(region ? { region } : {}),
            ...(credentials ? { credentials } : {}),
          },
        }
      : {}),
  };
}

/** A flag's value as a positive integer (undefined when the flag is absent). */
function positiveInt(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`invalid value "${value}" for ${flag}: must be a positive integer`);
  return n;
}

/**
 * How the CLI reaches registries: docker's config directory (`$DOCKER_CONFIG`, else
 * `~/.docker`: credentials, `certs.d`), the registries that may be plain HTTP
 * (`--insecure-registry`, `$STORE_INSECURE_REGISTRIES`, comma-separated; loopback always may)
 * and Docker Hub's mirrors (`--registry-mirror`, `$STORE_REGISTRY_MIRRORS`).
 */
export function registryOptions(options: GlobalOptions, env: CliIO["env"]): RegistryClientOptions {
  const insecure = [options.insecureRegistry, env.STORE_INSECURE_REGISTRIES]
    .flatMap((v) => (v ?? "").split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  // How long a registry may send nothing before the request is resumed or retried (default 30 s).
  const stall = Number(env.STORE_REGISTRY_STALL_TIMEOUT_MS);
  const mirrors = [options.registryMirror, env.STORE_REGISTRY_MIRRORS]
    .flatMap((v) => (v ?? "").split(","))
    .map((v) => v.trim())
    .filter(Boolean);
  return {
    configDir: dockerConfigDir(env),
    ...(insecure.length ? { insecureRegistries: insecure } : {}),
    ...(mirrors.length ? { mirrors } : {}),
    ...(Number.isSafeInteger(stall) && stall > 0 ? { stallTimeoutMs: stall } : {}),
  };
}

function topLevelHelp(): string {
  const heads = globalOptionHelp.map(([h]) => `  ${h}`);
  const width = Math.max(...heads.map((h) => h.length)) + 2;
  const lines = [
    "Usage:  store [OPTIONS] COMMAND",
    "",
    "docker's image commands over a local image store laid out like dockerd's data root",
    "",
    "Management Commands:",
    "  image       Manage images",
    "  system      Show disk usage (system df, the same as df)",
    "",
    "Commands:",
    ...topLevelCommands.map((c) => `  ${c.name.padEnd(10)}  ${c.summary}`),
    "",
    "Global Options:",
  ];
  globalOptionHelp.forEach(([, text], i) => {
    const [first, ...rest] = text.split("\n");
    lines.push(`${heads[i]!.padEnd(width)}${first}`);
    for (const r of rest) lines.push(`${" ".repeat(width)}${r}`);
  });
  lines.push("", "Run 'store COMMAND --help' for more information on a command.");
  return `${lines.join("\n")}\n`;
}

function imageGroupHelp(): string {
  const rows: string[] = [];
  for (const [sub, c] of [...imageSubcommands].sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (c.name === `image ${sub}`) rows.push(`  ${sub.padEnd(10)}  ${c.summary}`); // aliases (list, remove) are not listed
  }
  return [
    "Usage:  store image COMMAND",
    "",
    "Manage images",
    "",
    "Commands:",
    ...rows,
    "",
    "Run 'store image COMMAND --help' for more information on a command.",
    "",
  ].join("\n");
}

/** Finds the command `rest` names: the command and the arguments left for it. */
function findCommand(rest: readonly string[]): { command?: Command; args: string[]; help?: string } {
  const [name, ...args] = rest;
  if (name === "image") {
    const [sub, ...subArgs] = args;
    if (sub === undefined || sub === "--help" || sub === "-h") return { args: [], help: imageGroupHelp() };
    const command = imageSubcommands.get(sub);
    if (!command) throw new UsageError(`'${sub}' is not a store image command`, "store image");
    return { command, args: subArgs };
  }
  if (name === "system") {
    // docker's `system df` is the one system command there is; say so rather than "not a store command".
    if (args[0] === "df") return { command: topLevelCommands.find((c) => c.name === "df"), args: args.slice(1) };
    throw new UsageError(`'${["system", ...args.slice(0, 1)].join(" ")}' is not a store command: of docker's system commands only 'system df' (= 'df') is`);
  }
  const command = topLevelCommands.find((c) => c.name === name);
  if (!command) throw new UsageError(`'${name}' is not a store command`);
  return { command, args };
}

/** The exit code when stdout's reader left early: 128 + SIGPIPE, what docker's CLI exits with. */
export const BROKEN_PIPE_EXIT_CODE = 141;

/** 130 for SIGINT, 143 for SIGTERM (what a shell reports for a process they ended). */
function interruptedExitCode(reason: unknown): number {
  return reason === "SIGTERM" ? 143 : 130;
}

/**
 * Runs one `store` command line against `io` and resolves to the exit code: 0, 1 when the
 * command failed, 125 when the command line itself was wrong, 130/143 when Ctrl-C or SIGTERM
 * stopped it, 141 when stdout's reader left. Errors are printed as one line `store: <message>`
 * on stderr.
 */
export async function runCli(argv: readonly string[], io: CliIO): Promise<number> {
  let opened: Promise<StoreService> | undefined;
  try {
    const { options, rest } = parseGlobalOptions(argv);
    if (options.version) {
      await write(io.stdout, `store version ${STORE_VERSION}\n`);
      return 0;
    }
    if (options.help || rest.length === 0) {
      await write(io.stdout, topLevelHelp());
      return 0;
    }
    const found = findCommand(rest);
    if (found.help !== undefined) {
      await write(io.stdout, found.help);
      return 0;
    }
    const command = found.command!;
    const parsed = parseCommandArgs(command, found.args);
    if (!parsed) {
      await write(io.stdout, commandHelp(command));
      return 0;
    }
    const ctx: CommandContext = {
      io,
      registryOptions: () => registryOptions(options, io.env),
      store: () =>
        (opened ??= (async () => {
          const store = storeOptions(options, io.env);
          const readOnly = command.readOnly === true;
          // One writing command at a time per root (the service's writer lock, see @store/service);
          // readers need no turn. Only a --root typed on this command line must exist for a
          // reader; $STORE_ROOT is a configured default, created on first use like the embedded one.
          return openStore({
            ...store,
            access: readOnly ? "read" : "write",
            create: !(readOnly && options.root !== undefined),
            onLockWait: (owner) =>
              void write(
                io.stderr,
                `store: waiting for another store command${owner ? ` (process ${owner})` : ""} to finish with ${resolve(store.root)}\n`,
              ).catch(() => undefined),
            ...(io.signal ? { signal: io.signal } : {}),
          });
        })()),
      ...(io.signal ? { signal: io.signal } : {}),
    };
    return (await command.run(ctx, parsed)) ?? 0;
  } catch (e) {
    if ((e as { code?: string })?.code === "EPIPE") return BROKEN_PIPE_EXIT_CODE; // the reader left
    // Interrupted: the command undid its work on the way out; exit as a shell expects (128+N).
    if (io.signal?.aborted) return interruptedExitCode(io.signal.reason);
    const message = terminalSafe(e instanceof Error ? e.message : String(e));
    if (e instanceof UsageError) {
      const hint = e.command ? ` (see '${e.command} --help')` : " (see 'store --help')";
      await write(io.stderr, `store: ${message}${hint}\n`).catch(() => undefined);
      return USAGE_EXIT_CODE;
    }
    await write(io.stderr, `store: ${message}\n`).catch(() => undefined);
    return 1;
  } finally {
    if (opened) await opened.then((s) => s.close()).catch(() => undefined);
  }
}
