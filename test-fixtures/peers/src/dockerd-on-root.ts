import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { type DockerdPeer, type StartDockerdOptions, startDockerd } from "./dockerd";

/** Mount points at or below `dir`, deepest first. */
function mountsUnder(dir: string): string[] {
  const out: string[] = [];
  for (const line of readFileSync("/proc/self/mountinfo", "utf8").split("\n")) {
    const point = line.split(" ")[4]?.replace(/\\040/g, " ");
    if (point && (point === dir || point.startsWith(`${dir}/`))) out.push(point);
  }
  return out.sort((a, b) => b.length - a.length);
}

/**
 * Starts a dockerd (as {@link startDockerd}) whose `--data-root` is `root`, a store written by
 * someone else: does dockerd read what we wrote? `root` belongs to the caller and is not removed
 * by stop(), which does unmount whatever dockerd left mounted under it.
 */
export async function startDockerdOnRoot(root: string, options: StartDockerdOptions = {}): Promise<DockerdPeer> {
  const dataRoot = resolve(root);
  // dockerd's flags are pflag's: a repeated --data-root takes the last value.
  const peer = await startDockerd({ ...options, extraArgs: [...(options.extraArgs ?? []), "--data-root", dataRoot] });
  return {
    ...peer,
    root: dataRoot,
    async stop() {
      await peer.stop();
      for (const m of mountsUnder(dataRoot)) spawnSync("umount", ["-l", m], { stdio: "ignore" });
    },
  };
}
