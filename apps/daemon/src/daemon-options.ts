import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { defaultRoot } from "@store/service";
import { defaultSocket } from "./default-socket";
import { DaemonError, DaemonErrorCode } from "./errors";

/** dockerd's log levels (`--log-level`). */
export const logLevels = ["debug", "info", "warn", "error", "fatal"] as const;
export type LogLevel = (typeof logLevels)[number];

/** What a `stored` command line and daemon.json resolve to. */
export interface DaemonOptions {
  /** The data root (`--data-root`), laid out as dockerd's. */
  dataRoot: string;
  /** `unix://PATH` listeners (`-H`), at least one. */
  hosts: string[];
  /** Where the daemon's PID is written while it runs (`--pidfile`); none by default. */
  pidfile?: string;
  /** The graph driver (`--storage-driver`, default overlay2). */
  storageDriver: string;
  /** The group the sockets are given to (`--group`); default: the daemon's own. Mode is 0660. */
  group?: string;
  /** Registries that may be plain HTTP or unverified TLS (`--insecure-registry`). */
  insecureRegistries: string[];
  /** Docker Hub mirrors pulls read through first (`--registry-mirror`), as dockerd. */
  registryMirrors: string[];
  /** Layers downloaded at once per pull (default 3, as dockerd). */
  maxConcurrentDownloads: number;
  /** Layers uploaded at once per push (default 5, as dockerd). */
  maxConcurrentUploads: number;
  logLevel: LogLevel;
  /** Mutual TLS for `tcp://` hosts (`--tlsverify`): PEM file paths. */
  tls?: { ca: string; cert: string; key: string };
  /** `host:port` to serve Prometheus metrics on (`--metrics-addr`, plain HTTP); none by default. */
  metricsAddr?: string;
  /** The daemon.json read, if any. */
  configFile?: string;
  /**
   * A shared tier in an S3 bucket (`--s3-bucket`…), shared with every daemon started on the same
   * bucket and prefix; credentials from the AWS SDK's default chain.
   */
  shared?: {
    bucket: string;
    prefix?: string;
    /** An S3-compatible server (Ceph RGW, MinIO…), addressed path-style. */
    endpoint?: string;
    region?: string;
    /** Seconds between garbage collections of the tier by this daemon (0: never). */
    gcIntervalSeconds: number;
    /** Seconds a blob must be old before a collection may free it. */
    gcGraceSeconds: number;
  };
  /** `host:port` to serve the registry API v2 read-only on, for what the shared tier holds (`--registry-addr`). */
  registryAddr?: string;
}

/** What a command line asks for: help, the version, or a daemon to run. */
export type DaemonCommand = { kind: "help" } | { kind: "version" } | { kind: "run"; options: DaemonOptions };

type Value = string | string[] | number | boolean;

interface FlagSpec {
  /** The long name, which is also the daemon.json key (dockerd's spelling). */
  name: string;
  short?: string;
  /** The daemon.json key when it differs (lists are plural there: `hosts`, `insecure-registries`). */
  configKey?: string;
  type: "string" | "list" | "count" | "boolean";
  placeholder?: string;
  help: string;
}

const flags: readonly FlagSpec[] = [
  { name: "config-file", type: "string", placeholder: "string", help: "Daemon configuration file (daemon.json; the same keys as the flags)" },
  { name: "data-root", type: "string", placeholder: "string", help: "Root directory of persistent state (default: the store CLI's default root)" },
  { name: "debug", short: "D", type: "boolean", help: "Enable debug mode (the same as --log-level debug)" },
  { name: "group", short: "G", type: "string", placeholder: "string", help: "Group for the unix socket (mode 0660; default: the daemon's group)" },
  { name: "help", type: "boolean", help: "Print usage" },
  {
    name: "host",
    short: "H",
    configKey: "hosts",
    type: "list",
    placeholder: "list",
    help: "Daemon socket(s) to listen on: unix://PATH (default: $XDG_RUNTIME_DIR/stored.sock)",
  },
  { name: "insecure-registry", configKey: "insecure-registries", type: "list", placeholder: "list", help: "Enable insecure registry communication" },
  { name: "registry-mirror", configKey: "registry-mirrors", type: "list", placeholder: "list", help: "Preferred registry mirror" },
  {
    name: "registry-addr",
    type: "string",
    placeholder: "string",
    help: "Serve the registry API v2, read-only, for the shared tier's images at host:port (needs --s3-bucket)",
  },
  { name: "s3-bucket", type: "string", placeholder: "string", help: "Share images with every daemon on this S3 bucket (the shared tier)" },
  { name: "s3-endpoint", type: "string", placeholder: "string", help: "S3-compatible server URL (Ceph RGW, MinIO…; path-style addressing)" },
  { name: "s3-prefix", type: "string", placeholder: "string", help: "Key prefix of the shared tier in the bucket (default: none)" },
  { name: "s3-region", type: "string", placeholder: "string", help: "S3 region (default: the AWS SDK's)" },
  {
    name: "shared-gc-interval",
    type: "string",
    placeholder: "seconds",
    help: "Collect the shared tier's garbage every this many seconds; 0: never (default 3600)",
  },
  { name: "shared-gc-grace", type: "string", placeholder: "seconds", help: "Never free a shared blob younger than this (default 600)" },
  {
    name: "log-level",
    short: "l",
    type: "string",
    placeholder: "string",
    help: 'Set the logging level ("debug"|"info"|"warn"|"error"|"fatal") (default "info")',
  },
  { name: "max-concurrent-downloads", type: "count", placeholder: "int", help: "Set the max concurrent downloads for each pull (default 3)" },
  { name: "max-concurrent-uploads", type: "count", placeholder: "int", help: "Set the max concurrent uploads for each push (default 5)" },
  { name: "metrics-addr", type: "string", placeholder: "string", help: "Serve Prometheus metrics at http://ADDR/metrics (host:port; default: none)" },
  { name: "pidfile", short: "p", type: "string", placeholder: "string", help: "Path to use for daemon PID file (default: none)" },
  { name: "storage-driver", short: "s", type: "string", placeholder: "string", help: 'Storage driver to use (default "overlay2")' },
  { name: "tlscacert", type: "string", placeholder: "string", help: 'Trust certs signed only by this CA (default "~/.docker/ca.pem")' },
  { name: "tlscert", type: "string", placeholder: "string", help: 'Path to TLS certificate file (default "~/.docker/cert.pem")' },
  { name: "tlskey", type: "string", placeholder: "string", help: 'Path to TLS key file (default "~/.docker/key.pem")' },
  { name: "tlsverify", type: "boolean", help: "Use TLS and verify the remote (required for tcp:// hosts)" },
  { name: "version", short: "v", type: "boolean", help: "Print version information and quit" },
];

/** `stored --help`. */
export function daemonHelp(): string {
  const heads = flags.map((f) => `${f.short ? `-${f.short}, ` : "    "}--${f.name}${f.placeholder ? ` ${f.placeholder}` : ""}`);
  const width = Math.max(...heads.map((h) => h.length)) + 3;
  return [
    "Usage:\tstored [OPTIONS]",
    "",
    "A daemon serving the Docker Engine API's image endpoints over a local store",
    "",
    "Options:",
    ...flags.map((f, i) => `  ${heads[i]!.padEnd(width)}${f.help}`),
    "",
  ].join("\n");
}

function usage(message: string): DaemonError {
  return new DaemonError(DaemonErrorCode.InvalidArgs, message);
}

/** The flags given on the command line, by long name; lists accumulate. */
function parseFlags(argv: readonly string[]): Map<string, Value> {
  const out = new Map<string, Value>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    let name: string;
    let inline: string | undefined;
    if (arg.startsWith("--")) {
      const eq = arg.indexOf("=");
      name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      inline = eq < 0 ? undefined : arg.slice(eq + 1);
    } else if (arg.startsWith("-") && arg.length > 1) {
      name = arg.slice(1, 2);
      inline = arg.length > 2 ? arg.slice(arg[2] === "=" ? 3 : 2) : undefined;
    } else {
      throw usage(`"stored" accepts no arguments: ${JSON.stringify(arg)}\nSee 'stored --help'.`);
    }
    const spec = flags.find((f) => (arg.startsWith("--") ? f.name === name : f.short === name));
    if (!spec) throw usage(`unknown flag: ${arg.startsWith("--") ? `--${name}` : `-${name}`}\nSee 'stored --help'.`);
    if (spec.type === "boolean") {
      if (inline !== undefined && !["true", "false"].includes(inline))
        throw usage(`invalid argument "${inline}" for "--${spec.name}" flag: expected true or false`);
      out.set(spec.name, inline !== "false");
      continue;
    }
    const value = inline ?? argv[++i];
    if (value === undefined) throw usage(`flag needs an argument: --${spec.name}`);
    if (spec.type === "list") out.set(spec.name, [...((out.get(spec.name) as string[] | undefined) ?? []), value]);
    else if (spec.type === "count") out.set(spec.name, count(value, `--${spec.name}`, usage));
    else out.set(spec.name, value);
  }
  return out;
}

function count(value: unknown, what: string, fail: (m: string) => DaemonError): number {
  const n = typeof value === "number" ? value : typeof value === "string" && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < 1) throw fail(`invalid ${what} ${JSON.stringify(value)}: expected a positive integer`);
  return n;
}

/**
 * daemon.json as dockerd reads it: the flags' long names as keys (lists plural: `hosts`,
 * `insecure-registries`); an unknown key, or a key also given as a flag, is an error.
 */
async function readConfigFile(path: string, given: ReadonlyMap<string, Value>): Promise<Map<string, Value>> {
  const fail = (m: string) => new DaemonError(DaemonErrorCode.InvalidConfig, `unable to configure the daemon with file ${path}: ${m}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, "utf8"));
  } catch (e) {
    throw fail((e as NodeJS.ErrnoException).code === "ENOENT" ? "open: no such file or directory" : (e as Error).message);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) throw fail("expected a JSON object");
  const out = new Map<string, Value>();
  const unknown: string[] = [];
  const conflicts: string[] = [];
  for (const [key, value] of Object.entries(parsed)) {
    const spec = flags.find((f) => (f.configKey ?? f.name) === key && !["config-file", "help", "version"].includes(f.name));
    if (!spec) {
      unknown.push(key);
      continue;
    }
    if (given.has(spec.name)) conflicts.push(`${key}: (from flag: ${JSON.stringify(given.get(spec.name))}, from file: ${JSON.stringify(value)})`);
    if (spec.type === "list") {
      if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw fail(`${key} must be a list of strings`);
      out.set(spec.name, value);
    } else if (spec.type === "count") out.set(spec.name, count(value, key, fail));
    else if (spec.type === "boolean") {
      if (typeof value !== "boolean") throw fail(`${key} must be true or false`);
      out.set(spec.name, value);
    } else {
      if (typeof value !== "string") throw fail(`${key} must be a string`);
      out.set(spec.name, value);
    }
  }
  // dockerd's own wording for both mistakes.
  if (unknown.length > 0) throw fail(`the following directives don't match any configuration option: ${unknown.join(", ")}`);
  if (conflicts.length > 0) throw fail(`the following directives are specified both as a flag and in the configuration file: ${conflicts.join(", ")}`);
  return out;
}

/** `host:port` (`[v6]:port` for IPv6) of `--metrics-addr` or a `tcp://` host. */
export function metricsAddress(addr: string, what = "--metrics-addr"): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  const port = Number(m?.[3]);
  if (!m || port > 65535) throw usage(`invalid ${what} ${JSON.stringify(addr)}: expected host:port`);
  return { host: m[1] ?? (m[2] || "127.0.0.1"), port };
}

/**
 * Where one `-H` listens: a unix socket the daemon makes, sockets systemd passed (`fd://`), or a
 * TCP port served with mutual TLS.
 */
export type Listener = { kind: "unix"; path: string } | { kind: "fd"; fd?: number } | { kind: "tcp"; host: string; port: number };

/**
 * `unix://PATH` (or a bare absolute path); `fd://` / `fd://N` (systemd socket activation: every
 * socket passed, or the one at descriptor N); `tcp://HOST:PORT` (default port 2376, dockerd's
 * TLS port). Anything else is refused.
 */
export function parseHost(host: string): Listener {
  if (host === "fd://") return { kind: "fd" };
  const fd = /^fd:\/\/(\d+)$/.exec(host);
  if (fd) return { kind: "fd", fd: Number(fd[1]) };
  if (host.startsWith("tcp://")) {
    const rest = host.slice("tcp://".length).replace(/\/$/, "");
    const { host: h, port } = metricsAddress(/:\d+$/.test(rest) ? rest : `${rest}:2376`, "host");
    return { kind: "tcp", host: h, port };
  }
  const path = host.startsWith("unix://") ? host.slice("unix://".length) : host.startsWith("/") ? host : undefined;
  if (!path) throw usage(`unsupported host ${JSON.stringify(host)}: only unix://PATH, fd:// and tcp://HOST:PORT (with --tlsverify) are served`);
  if (!path.startsWith("/")) throw usage(`invalid host ${JSON.stringify(host)}: the socket path must be absolute`);
  return { kind: "unix", path };
}

/** Parses `stored`'s command line (and the daemon.json it names) into what to do. */
export async function parseDaemonArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<DaemonCommand> {
  const given = parseFlags(argv);
  if (given.get("help")) return { kind: "help" };
  if (given.get("version")) return { kind: "version" };
  const configFile = given.get("config-file") as string | undefined;
  const fromFile = configFile === undefined ? new Map<string, Value>() : await readConfigFile(configFile, given);
  const get = (name: string): Value | undefined => given.get(name) ?? fromFile.get(name);
  const logLevel = get("debug") ? "debug" : ((get("log-level") as string | undefined) ?? "info");
  if (!(logLevels as readonly string[]).includes(logLevel)) throw usage(`unable to parse logging level: ${logLevel}`);
  const hosts = ((get("host") as string[] | undefined) ?? []).filter(Boolean);
  const options: DaemonOptions = {
    dataRoot: (get("data-root") as string | undefined) || defaultRoot(env),
    hosts: hosts.length > 0 ? hosts : [`unix://${defaultSocket(env)}`],
    storageDriver: (get("storage-driver") as string | undefined) || "overlay2",
    insecureRegistries: (get("insecure-registry") as string[] | undefined) ?? [],
    registryMirrors: (get("registry-mirror") as string[] | undefined) ?? [],
    maxConcurrentDownloads: (get("max-concurrent-downloads") as number | undefined) ?? 3,
    maxConcurrentUploads: (get("max-concurrent-uploads") as number | undefined) ?? 5,
    logLevel: logLevel as LogLevel,
  };
  const tcp = options.hosts.filter((h) => parseHost(h).kind === "tcp");
  if (get("tlsverify")) {
    const dir = join(env.DOCKER_CERT_PATH || join(env.HOME || homedir(), ".docker"));
    options.tls = {
      ca: (get("tlscacert") as string | undefined) || join(dir, "ca.pem"),
      cert: (get("tlscert") as string | undefined) || join(dir, "cert.pem"),
      key: (get("tlskey") as string | undefined) || join(dir, "key.pem"),
    };
  } else if (tcp.length > 0) {
    // dockerd only warns; here whoever reaches the port would control the store, so it is refused.
    throw usage(`${tcp[0]} needs --tlsverify (mutual TLS): without it anyone who can reach the port controls the store`);
  }
  const pidfile = get("pidfile") as string | undefined;
  if (pidfile) options.pidfile = pidfile;
  const group = get("group") as string | undefined;
  if (group) options.group = group;
  const metricsAddr = get("metrics-addr") as string | undefined;
  if (metricsAddr) {
    metricsAddress(metricsAddr);
    options.metricsAddr = metricsAddr;
  }
  if (configFile !== undefined) options.configFile = configFile;
  const bucket = get("s3-bucket") as string | undefined;
  const seconds = (name: string, fallback: number) => {
    const v = get(name) as string | undefined;
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw usage(`invalid --${name} ${JSON.stringify(v)}: expected whole seconds`);
    return Number(v);
  };
  if (bucket) {
    const endpoint = get("s3-endpoint") as string | undefined;
    if (endpoint !== undefined && !/^https?:\/\/[^/]/.test(endpoint))
      throw usage(`invalid --s3-endpoint ${JSON.stringify(endpoint)}: expected an http:// or https:// URL`);
    const prefix = get("s3-prefix") as string | undefined;
    const region = get("s3-region") as string | undefined;
    options.shared = {
      bucket,
      ...(prefix ? { prefix } : {}),
      ...(endpoint ? { endpoint } : {}),
      ...(region ? { region } : {}),
      gcIntervalSeconds: seconds("shared-gc-interval", 3600),
      gcGraceSeconds: seconds("shared-gc-grace", 600),
    };
  } else {
    for (const name of ["s3-prefix", "s3-endpoint", "s3-region", "registry-addr", "shared-gc-interval", "shared-gc-grace"]) {
      if (get(name) !== undefined) throw usage(`--${name} needs --s3-bucket: it configures the shared tier`);
    }
  }
  const registryAddr = get("registry-addr") as string | undefined;
  if (registryAddr) {
    metricsAddress(registryAddr, "--registry-addr");
    options.registryAddr = registryAddr;
  }
  return { kind: "run", options };
}
