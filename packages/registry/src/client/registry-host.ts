import { BlockList, isIP } from "node:net";
import { RegistryError, RegistryErrorCode } from "../errors";

/** The host Docker Hub's API answers on; `docker.io` is only the name in references. */
export const dockerHubHost = "registry-1.docker.io";

const hubAliases = new Set(["docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);

/** Whether `host` (with or without port) names Docker Hub. */
export function isDockerHub(host: string): boolean {
  return hubAliases.has(host.toLowerCase());
}

/** Where requests for a reference's domain go: `docker.io` → `registry-1.docker.io`, others as written. */
export function registryHost(domain: string): string {
  return isDockerHub(domain) ? dockerHubHost : domain;
}

/** The hostname of `host[:port]` without brackets (`[::1]:5000` → `::1`). */
export function hostnameOf(host: string): string {
  if (host.startsWith("[")) {
    const end = host.indexOf("]");
    return end < 0 ? host : host.slice(1, end);
  }
  const colon = host.lastIndexOf(":");
  // A bare IPv6 address has more than one colon and no port.
  return colon >= 0 && host.indexOf(":") === colon ? host.slice(0, colon) : host;
}

/** Whether `host` is on the loopback (127.0.0.0/8, ::1, localhost): plain HTTP is fine there, as in dockerd. */
export function isLoopbackHost(host: string): boolean {
  const name = hostnameOf(host).toLowerCase();
  if (name === "localhost" || name.endsWith(".localhost")) return true;
  if (isIP(name) === 4) return name.startsWith("127.");
  if (isIP(name) === 6) return name === "::1" || name === "0:0:0:0:0:0:0:1";
  return false;
}

/**
 * dockerd's `insecure-registries`: entries are `host[:port]` (matched exactly) or CIDRs (matched
 * against an IP-literal host). Hostnames are not resolved to match a CIDR, unlike dockerd: a DNS
 * answer should not decide whether TLS is required.
 */
export class InsecureRegistries {
  readonly #hosts = new Set<string>();
  readonly #subnets = new BlockList();

  constructor(entries: readonly string[] = []) {
    for (const raw of entries) {
      const entry = raw
        .trim()
        .replace(/^https?:\/\//, "")
        .replace(/\/+$/, "");
      const slash = entry.indexOf("/");
      if (slash >= 0) {
        const address = entry.slice(0, slash);
        const prefix = Number(entry.slice(slash + 1));
        const family = isIP(address);
        if (family === 0 || !Number.isInteger(prefix) || prefix < 0 || prefix > (family === 4 ? 32 : 128)) {
          throw new RegistryError(RegistryErrorCode.Invalid, `invalid insecure registry ${JSON.stringify(raw)}: expected host[:port] or a CIDR`, {
            details: { entry: raw },
          });
        }
        this.#subnets.addSubnet(address, prefix, family === 4 ? "ipv4" : "ipv6");
      } else if (entry !== "") {
        this.#hosts.add(entry.toLowerCase());
      }
    }
  }

  /** Whether `host` (`host[:port]`) may be spoken to over plain HTTP or unverified TLS. */
  has(host: string): boolean {
    const lower = host.toLowerCase();
    if (this.#hosts.has(lower) || this.#hosts.has(hostnameOf(lower))) return true;
    const name = hostnameOf(lower);
    const family = isIP(name);
    return family !== 0 && this.#subnets.check(name, family === 4 ? "ipv4" : "ipv6");
  }
}
