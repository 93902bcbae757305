import { spawn } from "node:child_process";
import { which } from "./system";

/** Why skopeo cannot run here, or undefined when it can. */
export function skopeoSkipReason(): string | undefined {
  return which("skopeo") ? undefined : "no skopeo on PATH (Debian: apt-get install skopeo)";
}

/** How skopeo reaches a registry (one side of a copy). */
export interface SkopeoRegistryOptions {
  /** `user:password` for Basic or token auth. */
  creds?: string;
  /**
   * A directory holding `ca.crt` (and nothing skopeo would take for a client cert) to trust for
   * TLS; without it, TLS verification is off and plain HTTP is allowed.
   */
  certDir?: string;
}

const LOOPBACK = /^(localhost|127\.\d+\.\d+\.\d+|\[::1\])(:\d+)?\//;

/**
 * Runs `skopeo copy` between two transports (`docker-archive:…`, `docker://…`, `oci:…`, `dir:…`),
 * with registry options for the `docker://` sides. Refuses registries that are not on loopback
 * (nothing may leave the machine).
 */
export function skopeoCopy(
  source: string,
  destination: string,
  options: { src?: SkopeoRegistryOptions; dest?: SkopeoRegistryOptions; extraArgs?: readonly string[] } = {},
): Promise<void> {
  const skip = skopeoSkipReason();
  if (skip) return Promise.reject(new Error(`skopeoCopy: ${skip}`));
  const args = ["--insecure-policy", "copy", "--quiet", ...(options.extraArgs ?? [])];
  for (const [side, ref, o] of [
    ["src", source, options.src],
    ["dest", destination, options.dest],
  ] as const) {
    if (!ref.startsWith("docker://")) continue;
    if (!LOOPBACK.test(ref.slice("docker://".length))) return Promise.reject(new Error(`skopeoCopy: refusing ${ref}: only loopback registries are allowed`));
    if (o?.certDir) args.push(`--${side}-cert-dir`, o.certDir);
    else args.push(`--${side}-tls-verify=false`);
    if (o?.creds) args.push(`--${side}-creds`, o.creds);
  }
  args.push(source, destination);
  return new Promise((resolve, reject) => {
    // No proxy and no user config: the copy talks to the loopback registry and nothing else.
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
    const p = spawn("skopeo", args, { stdio: ["ignore", "ignore", "pipe"], env });
    let err = "";
    p.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`skopeo ${args.join(" ")} exited ${code}: ${err.trim()}`))));
  });
}

/**
 * Pushes a `docker save` archive to a registry as `ref` (`127.0.0.1:5000/name:tag`): skopeo
 * compresses the layers with gzip and writes a Docker schema2 manifest, as `docker push` would.
 * Plain HTTP unless `certDir` is given.
 */
export function pushArchiveToRegistry(archivePath: string, ref: string, options: SkopeoRegistryOptions = {}): Promise<void> {
  return skopeoCopy(`docker-archive:${archivePath}`, `docker://${ref}`, { dest: options });
}
