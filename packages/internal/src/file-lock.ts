import { closeSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from "node:fs";
import { systemErrorCode } from "@store/errors";
import { InternalError, InternalErrorCode } from "./errors";

/**
 * Runs `fn` holding a lock file shared by every process on the machine: `lockPath` created with
 * O_EXCL and holding the owner's PID, removed afterwards. A lock whose owner is no longer alive
 * (a process killed while holding it) is taken over. Waits up to `timeoutMs`, then throws
 * ERR_INTERNAL_LOCKED naming the file and the PID holding it; `onWait` hears once that it waits;
 * an aborted `signal` ends the wait with its reason.
 *
 * Why a lock file: several `store` processes may change one root at once (scripts, `xargs -P`),
 * and a read-modify-write of a shared file without one loses the other process's change.
 */
export async function withFileLock<T>(
  lockPath: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
  onWait?: (owner: number | undefined) => void,
  signal?: AbortSignal,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let wait = 2;
  let told = false;
  for (;;) {
    signal?.throwIfAborted(); // Ctrl-C while waiting for the lock gives up the wait
    if (tryCreate(lockPath)) break;
    const owner = ownerOf(lockPath);
    if (stale(lockPath, owner)) {
      // Its owner died holding it. Re-read right before removing, so a lock just taken over
      // by another process is not the one removed.
      if (ownerOf(lockPath) === owner) unlinkQuietly(lockPath);
      continue;
    }
    if (!told && onWait) {
      told = true;
      onWait(owner);
    }
    if (Date.now() > deadline) {
      throw new InternalError(InternalErrorCode.Locked, `${lockPath} is held by process ${owner ?? "?"}; gave up after ${timeoutMs / 1000} s`, {
        details: { path: lockPath, ...(owner !== undefined ? { pid: owner } : {}) },
      });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
  held.add(lockPath);
  try {
    return await fn();
  } finally {
    held.delete(lockPath);
    unlinkQuietly(lockPath);
  }
}

/** Lock files this process holds right now (its PID in a lock it does not hold is a leftover). */
const held = new Set<string>();

/**
 * A lock nobody holds any more: its owner is dead; or it names this very process, which does not
 * hold it (a previous process with the same PID, as in a container where every run is PID 1); or
 * it has stayed empty for seconds (the owner died between creating and writing it).
 */
function stale(lockPath: string, owner: number | undefined): boolean {
  if (owner === undefined) {
    try {
      return Date.now() - statSync(lockPath).mtimeMs > 5_000;
    } catch {
      return false; // gone already: the next try takes it
    }
  }
  if (owner === process.pid) return !held.has(lockPath);
  return !alive(owner);
}

function tryCreate(lockPath: string): boolean {
  let fd: number;
  try {
    fd = openSync(lockPath, "wx", 0o600);
  } catch (e) {
    if (systemErrorCode(e) === "EEXIST") return false;
    throw e;
  }
  try {
    writeSync(fd, `${process.pid}\n`);
  } finally {
    closeSync(fd);
  }
  return true;
}

/** The PID in a lock file; undefined while it is being written (empty) or already gone. */
function ownerOf(lockPath: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(lockPath, "utf8"), 10);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return systemErrorCode(e) === "EPERM"; // alive, owned by another user
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}
