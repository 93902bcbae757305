import { sleep } from "./sleep";
import { randomBytes } from "node:crypto";
import { link, open, readFile, stat, unlink, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { threadId } from "node:worker_threads";
import { systemErrorCode } from "@store/errors";
import { InternalError, InternalErrorCode } from "./errors";

// Lock files this thread holds right now: a lock naming this very process and thread that is not
// in here was left by an earlier process that had the same PID (PID 1 in a container, say).
const held = new Set<string>();
// In-process queues per lock path: callers of one process wait on a promise, not by polling the
// file; only the head of the queue competes for the file with other processes.
const queues = new Map<string, Promise<void>>();

/** An owner that died between creating and writing its lock gets this long before it is taken over. */
const unwrittenGraceMs = 5_000;

/**
 * Runs `fn` holding a lock file shared by every process on the machine: `lockPath` created with
 * O_EXCL, holding `<pid> <threadId>`, removed afterwards. A lock whose owner is no longer alive (a
 * process killed while holding it) is taken over, through a second O_EXCL file so that two
 * processes that judged the same owner dead cannot remove each other's new lock. Within one
 * process, callers queue on a promise instead of polling the file. Waits up to `timeoutMs` for
 * another process, then throws ERR_INTERNAL_LOCKED (kind conflict) naming the file and the PID
 * holding it; `onWait` hears once that it waits for another process; an aborted `signal` ends
 * the wait with its reason.
 *
 * Why a lock file: several `store` processes (scripts, `xargs -P`, a daemon beside a CLI) may
 * change one root at once, and they share nothing but the directory; a read-modify-write of a
 * shared file without one loses the other process's change.
 */
export async function withFileLock<T>(
  path: string,
  fn: () => Promise<T>,
  timeoutMs = 30_000,
  onWait?: (owner: number | undefined) => void,
  signal?: AbortSignal,
): Promise<T> {
  // One spelling per file: the in-process queue and the set of locks held are keyed by path, and
  // a relative and an absolute spelling of one lock must not both pass as its only holder.
  const lockPath = resolve(path);
  const previous = queues.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  // The next caller's turn comes once the previous one and this one are both done, even when
  // this one gave up waiting (abort, timeout) before its turn.
  const tail = previous.then(() => done);
  queues.set(lockPath, tail);
  const wait: Wait = { lockPath, deadline: Date.now() + timeoutMs, timeoutMs, onWait, signal, told: false };
  try {
    await turn(previous, wait);
    await acquire(wait);
    held.add(lockPath);
    try {
      return await fn();
    } finally {
      held.delete(lockPath);
      await unlink(lockPath).catch(() => undefined);
    }
  } finally {
    release();
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  }
}

/** One caller's wait for a lock: one deadline and one `onWait` across the queue and the file. */
interface Wait {
  lockPath: string;
  deadline: number;
  timeoutMs: number;
  onWait: ((owner: number | undefined) => void) | undefined;
  signal: AbortSignal | undefined;
  told: boolean;
}

function tell(wait: Wait, owner: number | undefined): void {
  if (wait.told || !wait.onWait) return;
  wait.told = true;
  wait.onWait(owner);
}

function locked(wait: Wait, owner: number | undefined): InternalError {
  return new InternalError(InternalErrorCode.Locked, `${wait.lockPath} is held by process ${owner ?? "?"}; gave up after ${wait.timeoutMs / 1000} s`, {
    details: { path: wait.lockPath, ...(owner !== undefined ? { pid: owner } : {}) },
  });
}

/**
 * Waits for this process's earlier callers (`previous`, which never rejects) to be done: they
 * hold the lock, so the wait is for this very process, told to `onWait` and bounded by the same
 * deadline and signal as a wait for another process.
 */
async function turn(previous: Promise<void>, wait: Wait): Promise<void> {
  wait.signal?.throwIfAborted();
  let settled = false;
  void previous.then(() => (settled = true));
  await Promise.resolve(); // an already-settled previous is not a wait
  if (settled) return;
  tell(wait, process.pid);
  await new Promise<void>((resolve, reject) => {
    const finish = (error?: unknown) => {
      clearTimeout(timer);
      wait.signal?.removeEventListener("abort", onAbort);
      if (error === undefined) resolve();
      else reject(error);
    };
    const onAbort = () => finish(wait.signal!.reason);
    const timer = setTimeout(() => finish(locked(wait, process.pid)), Math.max(0, wait.deadline - Date.now()));
    wait.signal?.addEventListener("abort", onAbort, { once: true });
    if (wait.signal?.aborted) onAbort(); // aborted before the listener: no event will come
    void previous.then(() => finish());
  });
}

async function acquire(wait: Wait): Promise<void> {
  const { lockPath, signal } = wait;
  let pause = 1;
  for (;;) {
    signal?.throwIfAborted(); // Ctrl-C while waiting for the lock gives up the wait
    if (await tryCreate(lockPath)) return;
    const text = await readOwner(lockPath);
    if (text !== undefined && (await stale(lockPath, text))) {
      await takeOver(lockPath, text);
      continue;
    }
    const pid = ownerPid(text);
    tell(wait, pid);
    if (Date.now() > wait.deadline) throw locked(wait, pid);
    await sleep(pause, signal);
    pause = Math.min(pause * 2, 50);
  }
}

/**
 * Creates the lock naming this process. The owner line goes into a file of our own first, which
 * link(2) then puts in place (atomic, and refused when the lock exists): the lock never exists
 * empty, so an owner killed at any point (SIGKILL, a power cut) leaves no lock or one naming a
 * dead PID, taken over at once, never an empty one that holds every caller off for the grace.
 * A filesystem without hard links falls back to O_EXCL and then the write.
 */
async function tryCreate(lockPath: string): Promise<boolean> {
  // Hidden (a leading dot), as the metadata store's namespace and dockerd's listings skip such names.
  const temp = join(dirname(lockPath), `.tmp-${basename(lockPath)}-${process.pid}-${threadId}-${randomBytes(4).toString("hex")}`);
  try {
    await writeFile(temp, `${process.pid} ${threadId}\n`, { mode: 0o600, flag: "wx" });
  } catch (e) {
    await unlink(temp).catch(() => undefined);
    throw e;
  }
  try {
    await link(temp, lockPath);
    return true;
  } catch (e) {
    const code = systemErrorCode(e);
    if (code === "EEXIST") return false;
    if (code !== "EPERM" && code !== "ENOTSUP" && code !== "EOPNOTSUPP" && code !== "ENOSYS") throw e;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
  return tryCreateExclusive(lockPath);
}

/** O_EXCL, then the owner line: for filesystems without hard links. */
async function tryCreateExclusive(lockPath: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, "wx", 0o600);
  } catch (e) {
    if (systemErrorCode(e) === "EEXIST") return false;
    throw e;
  }
  try {
    await handle.writeFile(`${process.pid} ${threadId}\n`);
  } catch (e) {
    // Not ours after all (ENOSPC, EIO): an empty lock left here would hold every caller off
    // for the unwritten grace, and stay on disk.
    await handle.close().catch(() => undefined);
    await unlink(lockPath).catch(() => undefined);
    throw e;
  }
  await handle.close();
  return true;
}

/** The lock's text; undefined when it is gone already. */
async function readOwner(lockPath: string): Promise<string | undefined> {
  try {
    return await readFile(lockPath, "utf8");
  } catch (e) {
    if (systemErrorCode(e) === "ENOENT") return undefined;
    throw e;
  }
}

/** The PID a lock's text names; undefined while it is being written (empty) or already gone. */
function ownerPid(text: string | undefined): number | undefined {
  const pid = Number.parseInt(text?.trim().split(/\s+/)[0] ?? "", 10);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

/**
 * Nobody holds it any more: its owner process is dead; or it names this very process and thread,
 * which does not hold it (an earlier process with the same PID); or it stayed empty for seconds
 * (the owner died between creating and writing it). A lock of another thread of this process is
 * live. A lock with no thread (as older versions wrote it) counts as the main thread's.
 */
async function stale(lockPath: string, text: string): Promise<boolean> {
  const pid = ownerPid(text);
  if (pid === undefined) {
    try {
      return Date.now() - (await stat(lockPath)).mtimeMs > unwrittenGraceMs;
    } catch {
      return false; // gone already: the next try takes it
    }
  }
  if (pid === process.pid) {
    const thread = Number.parseInt(text.trim().split(/\s+/)[1] ?? "0", 10);
    return thread === threadId && !held.has(lockPath);
  }
  return !alive(pid);
}

/**
 * Removes a stale lock, unless it changed since it was judged. Every takeover goes through a
 * second O_EXCL file, so two processes that both judged the same dead owner cannot have one of
 * them remove the lock the other has just created in its place.
 */
async function takeOver(lockPath: string, judged: string): Promise<void> {
  const guard = join(dirname(lockPath), `.${basename(lockPath)}.takeover`);
  let handle;
  try {
    handle = await open(guard, "wx", 0o600);
  } catch (e) {
    if (systemErrorCode(e) !== "EEXIST") throw e;
    // A taker that died mid-takeover leaves its guard: old guards are cleared.
    const age = await stat(guard).then(
      (s) => Date.now() - s.mtimeMs,
      () => 0,
    );
    if (age > unwrittenGraceMs) await unlink(guard).catch(() => undefined);
    else await new Promise((r) => setTimeout(r, 2));
    return;
  }
  try {
    await handle.close();
    if ((await readOwner(lockPath)) === judged) await unlink(lockPath).catch(() => undefined);
  } finally {
    await unlink(guard).catch(() => undefined);
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
