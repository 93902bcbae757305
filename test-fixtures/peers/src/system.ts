import { spawnSync } from "node:child_process";

/** True when the tests run as root (overlay mounts, dockerd). */
export function hasRoot(): boolean {
  return typeof process.getuid === "function" && process.getuid() === 0;
}

/** The absolute path of `command` on PATH, or undefined. */
export function which(command: string): string | undefined {
  const r = spawnSync("sh", ["-c", `command -v ${command}`], { encoding: "utf8" });
  return r.status === 0 ? r.stdout.trim() || undefined : undefined;
}
