import type { Platform } from "../descriptor";
import { normalizePlatform } from "./normalize-platform";

/** A platform reduced to what matching compares, normalised. */
export interface PlatformKey {
  os: string;
  architecture: string;
  variant: string;
}

function key(os: string, architecture: string, variant: string): PlatformKey {
  return { os, architecture, variant };
}

/**
 * What a host of `platform` runs, best first: containerd's `platformVector` behind
 * `platforms.Only`. amd64/vN → vN…v1, then 386 (on every OS, as containerd has it); arm/vN →
 * vN…v5; arm64/v8.x → v8.x…v8 (v8 is written without a variant), arm64/v9.x → v9.x…v9, then
 * v8.(x+5)…v8; then, for arm64, 32-bit arm from the same version down (arm/v8…v5 for v8.x and v9.x).
 */
export function platformVector(platform: Platform): PlatformKey[] {
  const p = normalizePlatform(platform);
  const os = p.os;
  const variant = p.variant ?? "";
  const vector: PlatformKey[] = [key(os, p.architecture, variant)];
  const versionOf = (v: string) => (/^v?\d+$/.test(v) ? Number.parseInt(v.replace(/^v/, ""), 10) : Number.NaN);
  switch (p.architecture) {
    case "amd64": {
      const level = versionOf(variant);
      if (level > 1) for (let l = level - 1; l >= 1; l--) vector.push(key(os, "amd64", l === 1 ? "" : `v${l}`));
      vector.push(key(os, "386", ""));
      break;
    }
    case "arm": {
      const version = versionOf(variant);
      if (version > 5) for (let v = version - 1; v >= 5; v--) vector.push(key(os, "arm", `v${v}`));
      break;
    }
    case "arm64": {
      const full = variant === "" ? "v8" : variant;
      const [majorText, minorText] = full.split(".", 2) as [string, string | undefined];
      let major = versionOf(majorText);
      if (major >= 8) {
        // As containerd: a minor counts only in the four-character form (v8.2, not v8.10).
        let minor = full.length === 4 && minorText !== undefined && /^\d+$/.test(minorText) ? Number(minorText) : 0;
        const arm64 = (maj: number, min: number) => key(os, "arm64", min === 0 ? (maj === 8 ? "" : `v${maj}`) : `v${maj}.${min}`);
        if (major === 9) {
          for (let m = minor - 1; m >= 0; m--) vector.push(arm64(9, m));
          // v9.0 diverged from v8.5: v9.x runs what v8.(x+5) runs.
          minor += 5;
          major = 8;
          vector.push(arm64(8, minor));
        }
        for (let m = minor - 1; m >= 0; m--) vector.push(arm64(major, m));
      }
      // 32-bit arm binaries run on arm64 hosts: arm at the same version (v8 for any v8.x or v9.x) and below.
      const armVariant = full.startsWith("v8.") || full.startsWith("v9.") ? "v8" : full;
      vector.push(...platformVector({ os, architecture: "arm", variant: armVariant }));
      break;
    }
  }
  return vector;
}

/** Whether `candidate` (normalised here) is `target` (already normalised) by os, architecture and variant. */
export function platformMatches(target: PlatformKey, candidate: Platform): boolean {
  const c = normalizePlatform(candidate);
  return c.os === target.os && c.architecture === target.architecture && (c.variant ?? "") === target.variant;
}
