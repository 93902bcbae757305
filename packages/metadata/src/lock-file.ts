import { open, readFile, stat, unlink } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { threadId } from "node:worker_threads";
import { systemErrorCode } from "@store/errors";
import { MetadataError, MetadataErrorCode } from "./errors";

/** Options of {@link withLockFile}. */
export interface LockFileOptions {
  /** How long to wait for another process's lock before ERR_METADATA_LOCKED (default 30 s). */
  timeoutMs?: number;
}

// Lock files this thread holds right now: a lock naming this very process and thread that is not
// in here was left by an earlier process that had the same PID (PID 1 in a container, say).
const held = new Set<string>();
// In-process queues per lock path: callers of one process wait on a promise, not by polling the
// file; only the head of the queue competes for the file with other processes.
const queues = new Map<string, Promise<void>>();

/** An owner written by a process that died before writing it gets this long before it is taken over. */
const unwrittenGraceMs = 5_000;

/**
 * Runs `fn` holding the lock file `lockPath`, shared by every process on the machine: created with
 * O_EXCL, holding `<pid> <threadId>`, removed afterwards. A lock whose owner process is dead is
 * taken over. The format starts with the PID as @store/image's withFileLock writes it, so the
 * two exclude each other on the same file (`repositories.json.lock`).
 *
 * Why a file and not an in-process mutex: the compare-and-swap must hold against other
 * processes (two `store` commands, a daemon and a CLI), which share nothing but the directory.
 */
export async function withLockFile<T>(lockPath: string, fn: () => Promise<T>, options: LockFileOptions = {}): Promise<T> {
  const previous = queues.get(lockPath) ?? Promise.resolve();
  let release!: () => void;
  const tail = previous.then(() => new Promise<void>((r) => (release = r)));
  queues.set(lockPath, tail);
  try {
    await previous;
    await acquire(lockPath, options.timeoutMs ?? 30_000);
    held.add(lockPath);
    try {
      return await fn();
    } finally {
      held.delete(lockPath);
      await unlink(lockPath).catch(() => undefined);
    }
  } finally {
    // `release` is set once `previous` settled, which it has by now (it never rejects).
    await Promise.resolve();
    release?.();
    if (queues.get(lockPath) === tail) queues.delete(lockPath);
  }
}

async function acquire(lockPath: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let wait = 1;
  for (;;) {
    if (await tryCreate(lockPath)) return;
    const text = await readOwner(lockPath);
    if (text !== undefined && (await stale(lockPath, text))) {
      await takeOver(lockPath, text);
      continue;
    }
    if (Date.now() > deadline) {
      const pid = text === undefined ? undefined : Number.parseInt(text, 10);
      throw new MetadataError(MetadataErrorCode.Locked, `${lockPath} is held by process ${pid || "?"}; gave up after ${timeoutMs / 1000} s`, {
        details: { path: lockPath, ...(pid ? { pid } : {}) },
      });
    }
    await new Promise((r) => setTimeout(r, wait));
    wait = Math.min(wait * 2, 50);
  }
}

async function tryCreate(lockPath: string): Promise<boolean> {
  let handle;
  try {
    handle = await open(lockPath, "wx", 0o600);
  } catch (e) {
    if (systemErrorCode(e) === "EEXIST") return false;
    throw e;
  }
  try {
    await handle.writeFile(`${process.pid} ${threadId}\n`);
  } finally {
    await handle.close();
  }
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

/**
 * Nobody holds it any more: its owner process is dead; or it names this very process and thread,
 * which does not hold it (an earlier process with the same PID); or it stayed empty for seconds
 * (the owner died between creating and writing it). A lock of another thread of this process is
 * live. A lock with no thread (withFileLock's) counts as the main thread's.
 */
async function stale(lockPath: string, text: string): Promise<boolean> {
  const [pidText, threadText] = text.trim().split(/\s+/);
  const pid = Number.parseInt(pidText ?? "", 10);
  if (!Number.isSafeInteger(pid) || pid <= 0) {
    try {
      return Date.now() - (await stat(lockPath)).mtimeMs > unwrittenGraceMs;
    } catch {
      return false; // gone already: the next try takes it
    }
  }
  if (pid === process.pid) {
    const thread = Number.parseInt(threadText ?? "0", 10);
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
    const age = await stat(guard).then((s) => Date.now() - s.mtimeMs, () => 0);
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
