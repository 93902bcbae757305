import type { Platform } from "../descriptor";
import { normalizePlatform } from "./normalize-platform";

// Node's names (process.platform, process.arch) where they differ from Go's (GOOS, GOARCH),
// which is what image platforms use.
const goos: Readonly<Record<string, string>> = { win32: "windows", sunos: "solaris" };
const goarch: Readonly<Record<string, string>> = { x64: "amd64", ia32: "386", x32: "amd64p32", ppc: "ppc", mipsel: "mipsle" };

/**
 * The platform this process runs on, as docker's default pull platform (containerd's
 * `DefaultSpec`), normalised: `linux/amd64`, `linux/arm64`, `linux/arm/v7`. On 32-bit arm the
 * variant comes from the ARM version Node was built for (`process.config.variables.arm_version`);
 * amd64 microarchitecture levels (v2–v4) are not detected, so an image published only for
 * `amd64/v3` is not selected on its own.
 */
export function hostPlatform(): Platform {
  const os = goos[process.platform] ?? process.platform;
  const architecture = goarch[process.arch] ?? process.arch;
  const armVersion = (process.config.variables as Record<string, unknown>).arm_version;
  const variant =
    architecture === "arm" && (typeof armVersion === "string" || typeof armVersion === "number") && /^\d+$/.test(String(armVersion))
      ? `v${armVersion}`
      : undefined;
  return normalizePlatform(variant === undefined ? { os, architecture } : { os, architecture, variant });
}
