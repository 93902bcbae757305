import { readFile, unlink, writeFile, mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { DaemonError, DaemonErrorCode } from "./errors";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Writes this process's PID to `path`, as dockerd's pidfile: refused while the PID already in it
 * is a live process; a stale one (its daemon killed) is replaced.
 */
export async function writePidfile(path: string): Promise<void> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  const pid = Number(text?.trim());
  if (text !== undefined && Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && alive(pid)) {
    throw new DaemonError(DaemonErrorCode.RootLocked, `pid file found, ensure stored is not running or delete ${path} (process ${pid} is alive)`);
  }
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${process.pid}`);
}

/** Removes the pidfile if it still names this process. */
export async function removePidfile(path: string): Promise<void> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  if (text?.trim() === String(process.pid)) await unlink(path).catch(() => undefined);
}
