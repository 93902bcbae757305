import type { Platform } from "../descriptor";

/** An operating system as containerd normalises it: lowercase, `macos` → `darwin`. */
export function normalizeOs(os: string): string {
  const lower = os.toLowerCase();
  return lower === "macos" ? "darwin" : lower;
}

/**
 * An architecture and variant as containerd's `normalizeArch` gives them (lowercase):
 * `i386` → `386`; `x86_64`/`x86-64` → `amd64`, variant `v1` → none; `aarch64` → `arm64`, variant
 * `8`/`v8`/`v8.0` → none and `9`/`9.0`/`v9.0` → `v9`; `armhf` → `arm/v7`; `armel` → `arm/v6`;
 * `arm` without a variant (or `7`) → `arm/v7`, `5`/`6`/`8` → `v5`/`v6`/`v8`.
 */
export function normalizeArch(architecture: string, variant = ""): { architecture: string; variant: string } {
  let arch = architecture.toLowerCase();
  let v = variant.toLowerCase();
  switch (arch) {
    case "i386":
      arch = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      arch = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      arch = "arm64";
      if (v === "8" || v === "v8" || v === "v8.0") v = "";
      else if (v === "9" || v === "9.0" || v === "v9.0") v = "v9";
      break;
    case "armhf":
      arch = "arm";
      v = "v7";
      break;
    case "armel":
      arch = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = `v${v}`;
      break;
  }
  return { architecture: arch, variant: v };
}

/**
 * The canonical form of a platform (containerd's `platforms.Normalize`), the form two platforms
 * are compared in: `{os: "Linux", architecture: "aarch64", variant: "v8"}` → `linux/arm64`. An
 * empty variant is left out; os.version and os.features are kept as they are.
 */
export function normalizePlatform(platform: Platform): Platform {
  const { architecture, variant } = normalizeArch(platform.architecture, platform.variant);
  const out: Platform = { os: normalizeOs(platform.os), architecture };
  if (variant !== "") out.variant = variant;
  if (platform["os.version"] !== undefined) out["os.version"] = platform["os.version"];
  if (platform["os.features"] !== undefined) out["os.features"] = [...platform["os.features"]];
  return out;
}

/** `os/architecture[/variant]`, as docker prints a platform ("linux/arm/v7"). */
export function formatPlatform(platform: Platform): string {
  return [platform.os, platform.architecture, platform.variant].filter((part) => part !== undefined && part !== "").join("/");
}
