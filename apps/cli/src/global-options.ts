import type { BackendKind } from "@store/service";
import { UsageError } from "./usage-error";

/** Options given before the command (`store --root /var/lib/docker images`). */
export interface GlobalOptions {
  root?: string;
  storageDriver?: string;
  backend?: BackendKind;
  s3Bucket?: string;
  s3Prefix?: string;
  s3Endpoint?: string;
  s3Region?: string;
  insecureRegistry?: string;
  registryMirror?: string;
  maxConcurrentDownloads?: string;
  maxConcurrentUploads?: string;
  help: boolean;
  version: boolean;
}

const valued: Record<string, keyof GlobalOptions> = {
  "--root": "root",
  "--storage-driver": "storageDriver",
  "-s": "storageDriver",
  "--backend": "backend",
  "--s3-bucket": "s3Bucket",
  "--s3-prefix": "s3Prefix",
  "--s3-endpoint": "s3Endpoint",
  "--s3-region": "s3Region",
  "--insecure-registry": "insecureRegistry",
  "--registry-mirror": "registryMirror",
  "--max-concurrent-downloads": "maxConcurrentDownloads",
  "--max-concurrent-uploads": "maxConcurrentUploads",
};

/** Help lines for the global flags, in docker's layout. */
export const globalOptionHelp: readonly [string, string][] = [
  ["    --backend string", 'Where image configs live: "fs", "memory" or "s3" (default "fs")'],
  ["-h, --help", "Print usage"],
  [
    "    --insecure-registry list",
    "Registries that may be reached over plain HTTP, comma-separated\n(env STORE_INSECURE_REGISTRIES; 127.0.0.0/8 and ::1 always may)",
  ],
  ["    --max-concurrent-downloads int", "Layers a pull downloads at once (default 3)"],
  ["    --max-concurrent-uploads int", "Layers a push uploads at once (default 5)"],
  ["    --registry-mirror list", "Docker Hub mirrors pulls read through first, comma-separated\n(env STORE_REGISTRY_MIRRORS)"],
  ["    --root string", "Root of the store, laid out as dockerd's data root\n(default $STORE_ROOT, $XDG_DATA_HOME/store or ~/.local/share/store)"],
  ["    --s3-bucket string", "S3 bucket of the imagedb with --backend s3 (env STORE_S3_BUCKET)"],
  ["    --s3-endpoint string", "S3 endpoint URL (env STORE_S3_ENDPOINT or AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL)"],
  ["    --s3-prefix string", "Key prefix in the bucket (env STORE_S3_PREFIX)"],
  ["    --s3-region string", "S3 region (env STORE_S3_REGION or AWS_REGION, AWS_DEFAULT_REGION)"],
  ["-s, --storage-driver string", 'Graph driver (default "overlay2")'],
  ["-v, --version", "Print version information and quit"],
];

/**
 * Splits argv into the global options and the command with its own arguments. Global flags
 * come before the command, as with docker; the first argument that is not a flag is the command.
 */
export function parseGlobalOptions(argv: readonly string[]): { options: GlobalOptions; rest: string[] } {
  const options: GlobalOptions = { help: false, version: false };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "-h" || arg === "--help") {
      options.help = true;
      continue;
    }
    if (arg === "-v" || arg === "--version") {
      options.version = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    const key = valued[name];
    if (!key) throw new UsageError(arg.startsWith("--") ? `unknown flag: ${name}` : `unknown shorthand flag: '${arg.slice(1, 2)}' in ${arg}`);
    let value: string;
    if (name !== arg) value = arg.slice(eq + 1);
    else {
      const next = argv[i + 1];
      if (next === undefined) throw new UsageError(`flag needs an argument: ${name}`);
      value = next;
      i++;
    }
    if (key === "backend" && value !== "fs" && value !== "memory" && value !== "s3") {
      throw new UsageError(`invalid argument "${value}" for "--backend" flag: must be fs, memory or s3`);
    }
    if (value === "" && key === "root") throw new UsageError(`invalid argument "" for "--root" flag: must not be empty`);
    (options as unknown as Record<string, string>)[key] = value;
  }
  return { options, rest: argv.slice(i) };
}
