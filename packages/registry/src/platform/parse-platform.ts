import type { Platform } from "../descriptor";
import { RegistryError, RegistryErrorCode } from "../errors";
import { hostPlatform } from "./host-platform";
import { normalizeArch, normalizeOs } from "./normalize-platform";

// containerd/platforms' grammar: each component, and the first with an optional `(os.version)`.
const componentPattern = "^[A-Za-z0-9_-]+$";
const osAndVersionPattern = "^([A-Za-z0-9_-]+)(?:\\(([A-Za-z0-9_.-]*)\\))?$";
const componentRe = new RegExp(componentPattern);
const osAndVersionRe = new RegExp(osAndVersionPattern);

// Go's list (go/build/syslist.go), as containerd keeps it: a lone word is an OS when it is one of these.
const knownOs = new Set([
  "aix",
  "android",
  "darwin",
  "dragonfly",
  "freebsd",
  "hurd",
  "illumos",
  "ios",
  "js",
  "linux",
  "nacl",
  "netbsd",
  "openbsd",
  "plan9",
  "solaris",
  "windows",
  "zos",
]);
// …and otherwise an architecture, when it is one of these.
const knownArch = new Set([
  "386",
  "amd64",
  "amd64p32",
  "arm",
  "armbe",
  "arm64",
  "arm64be",
  "ppc64",
  "ppc64le",
  "loong64",
  "mips",
  "mipsle",
  "mips64",
  "mips64le",
  "mips64p32",
  "mips64p32le",
  "ppc",
  "riscv",
  "riscv64",
  "s390",
  "s390x",
  "sparc",
  "sparc64",
  "wasm",
]);

/**
 * Go's `%q`, for messages that read as docker's: the named escapes, `\xNN` below 0x80, and
 * `\uNNNN`/`\UNNNNNNNN` for the rest of what Go does not print (unicode.IsPrint: anything but
 * letters, marks, numbers, punctuation, symbols and the ASCII space).
 */
function goQuote(text: string): string {
  const named: Record<string, string> = {
    "\x07": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    '"': '\\"',
    "\\": "\\\\",
  };
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (named[ch] !== undefined) out += named[ch];
    else if (ch === " " || printable.test(ch)) out += ch;
    else if (code < 0x80) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else if (code < 0x10000) out += `\\u${code.toString(16).padStart(4, "0")}`;
    else out += `\\U${code.toString(16).padStart(8, "0")}`;
  }
  return `${out}"`;
}
const printable = /^[\p{L}\p{M}\p{N}\p{P}\p{S}]$/u;

function invalidPlatform(specifier: string, message: string): RegistryError {
  // containerd wraps errdefs.ErrInvalidArgument, whose text ends every message docker prints.
  return new RegistryError(RegistryErrorCode.PlatformInvalid, `${message}: invalid argument`, { details: { platform: specifier } });
}

function withVariant(os: string, architecture: string, variant: string, osVersion?: string): Platform {
  const platform: Platform = { os, architecture };
  if (variant !== "") platform.variant = variant;
  if (osVersion !== undefined && osVersion !== "") platform["os.version"] = osVersion;
  return platform;
}

/** Options of {@link parsePlatform}. */
export interface ParsePlatformOptions {
  /** What fills in a lone OS's architecture or a lone architecture's OS (default: {@link hostPlatform}). */
  host?: Platform;
}

/**
 * Parses docker's `--platform` syntax as containerd's `platforms.Parse` does:
 * `<os>[(<os.version>)]`, `<arch>`, `<os>/<arch>` or `<os>/<arch>/<variant>`, normalising
 * names (`Linux/aarch64` → `linux/arm64`, `linux/armhf` → `linux/arm/v7`). A lone OS takes the
 * host's architecture, a lone architecture the host's OS. The result is what docker's parser
 * gives (`linux/arm` without its implied v7, `linux/arm64/v8` with its v8): compare platforms
 * through {@link normalizePlatform} or {@link selectManifests}, which normalise both sides.
 *
 * docker reads an empty `--platform ""` as not given: check for that before calling, as this
 * refuses "" as containerd does.
 *
 * Errors are `ERR_REGISTRY_PLATFORM_INVALID` with docker's text, e.g.
 * `"foo": unknown operating system or architecture: invalid argument`.
 */
export function parsePlatform(specifier: string, options: ParsePlatformOptions = {}): Platform {
  const q = goQuote(specifier);
  if (specifier.includes("*")) throw invalidPlatform(specifier, `${q}: wildcards not yet supported`);
  // Every part is checked, then counted: dockerd 20.10 answers "linux/arm64/v8/x/y" with
  // "cannot parse platform specifier" (newer containerd splits at most 4 ways and names "x/y").
  const parts = specifier.split("/");
  const osMatch = osAndVersionRe.exec(parts[0]!);
  if (osMatch === null) {
    throw invalidPlatform(
      specifier,
      `${goQuote(parts[0]!)} is an invalid OS component of ${q}: OSAndVersion specifier component must match ${goQuote(osAndVersionPattern)}`,
    );
  }
  for (const part of parts.slice(1)) {
    if (!componentRe.test(part)) {
      throw invalidPlatform(
        specifier,
        `${goQuote(part)} is an invalid component of ${q}: platform specifier component must match ${goQuote(componentPattern)}`,
      );
    }
  }
  const os = normalizeOs(osMatch[1]!);
  const osVersion = osMatch[2];
  switch (parts.length) {
    case 1: {
      const host = options.host ?? hostPlatform();
      if (knownOs.has(os)) {
        // containerd: the host's architecture, with its variant only for arm other than v7.
        const hostArch = normalizeArch(host.architecture, host.variant);
        return withVariant(os, hostArch.architecture, hostArch.architecture === "arm" && hostArch.variant !== "v7" ? hostArch.variant : "", osVersion);
      }
      const arch = normalizeArch(parts[0]!);
      if (knownArch.has(arch.architecture))
        return withVariant(normalizeOs(host.os), arch.architecture, arch.architecture === "arm" && arch.variant === "v7" ? "" : arch.variant);
      throw invalidPlatform(specifier, `${q}: unknown operating system or architecture`);
    }
    case 2: {
      const arch = normalizeArch(parts[1]!);
      return withVariant(os, arch.architecture, arch.architecture === "arm" && arch.variant === "v7" ? "" : arch.variant, osVersion);
    }
    case 3: {
      const arch = normalizeArch(parts[1]!, parts[2]!);
      return withVariant(os, arch.architecture, arch.architecture === "arm64" && arch.variant === "" ? "v8" : arch.variant, osVersion);
    }
    default:
      throw invalidPlatform(specifier, `${q}: cannot parse platform specifier`);
  }
}
