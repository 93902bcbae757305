import { spawn, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AsyncMutex, InternalErrorCode, KeyedLock, mapLimit, withFileLock } from "../src/index";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "internal-locks-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const step = (log: string[], tag: string, ms: number) => async () => {
  log.push(`${tag}+`);
  await new Promise((r) => setTimeout(r, ms));
  log.push(`${tag}-`);
  return tag;
};

describe("AsyncMutex", () => {
  it("runs sections one at a time in order, and a throwing section releases it", async () => {
    const mutex = new AsyncMutex();
    const log: string[] = [];
    const results = await Promise.all([mutex.run(step(log, "a", 20)), mutex.run(step(log, "b", 1)), mutex.run(() => "sync")]);
    expect(results).toEqual(["a", "b", "sync"]);
    expect(log).toEqual(["a+", "a-", "b+", "b-"]);
    await expect(
      mutex.run(async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await mutex.run(async () => "after")).toBe("after");
  });
});

describe("KeyedLock", () => {
  it("serialises one key and lets other keys run alongside", async () => {
    const lock = new KeyedLock();
    const log: string[] = [];
    const results = await Promise.all([lock.run("a", step(log, "a1", 20)), lock.run("a", step(log, "a2", 1)), lock.run("b", step(log, "b1", 5))]);
    expect(results).toEqual(["a1", "a2", "b1"]);
    expect(log.indexOf("a2+")).toBeGreaterThan(log.indexOf("a1-"));
    expect(log.indexOf("b1+")).toBeLessThan(log.indexOf("a1-"));
    await expect(
      lock.run("a", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await lock.run("a", async () => "after")).toBe("after");
  });
});

describe("mapLimit", () => {
  it("keeps order and never runs more than the limit at once", async () => {
    let running = 0;
    let most = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (n, i) => {
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, n));
      running--;
      return `${i}:${n}`;
    });
    expect(out).toEqual(["0:5", "1:1", "2:3", "3:2", "4:4"]);
    expect(most).toBe(2);
    expect(await mapLimit([], 4, async () => 1)).toEqual([]);
  });
});

describe("withFileLock", () => {
  it("serialises holders, removes the lock file, and lets go when fn throws", async () => {
    const path = join(dir, "store.lock");
    const log: string[] = [];
    await Promise.all([withFileLock(path, step(log, "one", 20)), withFileLock(path, step(log, "two", 1))]);
    expect(log).toEqual(["one+", "one-", "two+", "two-"]);
    await expect(
      withFileLock(path, async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    expect(await readdir(dir)).toEqual([]);
  });

  it("takes over a lock whose process is gone, and gives up on a live one with ERR_INTERNAL_LOCKED", async () => {
    const path = join(dir, "repositories.json.lock");
    const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
    await writeFile(path, `${dead}\n`);
    expect(await withFileLock(path, async () => "dead owner")).toBe("dead owner");

    // This process's own PID in a lock it does not hold: left by an earlier process with the same
    // PID (a container's PID 1), taken over too. So is a lock left empty for seconds.
    await writeFile(path, `${process.pid}\n`);
    expect(await withFileLock(path, async () => "same pid")).toBe("same pid");
    await writeFile(path, "");
    await utimes(path, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    expect(await withFileLock(path, async () => "empty")).toBe("empty");

    const live = spawn("sleep", ["30"]);
    try {
      await writeFile(path, `${live.pid}\n`);
      let told: number | undefined;
      const error = await withFileLock(
        path,
        async () => undefined,
        200,
        (owner) => (told = owner),
      ).catch((e: unknown) => e);
      expect(isStoreError(error, InternalErrorCode.Locked)).toBe(true);
      expect(error).toMatchObject({ message: expect.stringContaining(`${path} is held by process ${live.pid}`), details: { path, pid: live.pid } });
      expect(told).toBe(live.pid);
      const controller = new AbortController();
      setTimeout(() => controller.abort("SIGINT"), 50);
      expect(await withFileLock(path, async () => undefined, 5_000, undefined, controller.signal).catch((e: unknown) => e)).toBe("SIGINT");
      expect((await import("node:fs")).readFileSync(path, "utf8")).toBe(`${live.pid}\n`); // a live owner's lock is never taken
    } finally {
      live.kill();
    }
  });
  it("queues callers of one process on a promise; one that gives up while queued lets the next through", async () => {
    const path = join(dir, "queue.lock");
    const log: string[] = [];
    const controller = new AbortController();
    const first = withFileLock(path, step(log, "first", 40));
    const gaveUp = withFileLock(path, step(log, "never", 1), 5_000, undefined, controller.signal).catch((e: unknown) => e);
    const third = withFileLock(path, step(log, "third", 1));
    setTimeout(() => controller.abort("SIGINT"), 5);
    expect(await gaveUp).toBe("SIGINT");
    await Promise.all([first, third]);
    expect(log).toEqual(["first+", "first-", "third+", "third-"]);
    // Waiting behind this process's own holder is told (its PID) and bounded like any other wait.
    let release!: () => void;
    const holding = withFileLock(path, () => new Promise<void>((r) => (release = r)));
    let told: number | undefined;
    const timedOut = await withFileLock(
      path,
      async () => undefined,
      50,
      (owner) => (told = owner),
    ).catch((e: unknown) => e);
    expect(isStoreError(timedOut, InternalErrorCode.Locked)).toBe(true);
    expect(told).toBe(process.pid);
    release();
    await holding;
    // The holder is named by PID and thread, so a worker thread's lock is not taken for a leftover.
    await withFileLock(path, async () => expect((await import("node:fs")).readFileSync(path, "utf8")).toMatch(new RegExp(`^${process.pid} \\d+\n$`)));
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("withFileLock on a full filesystem", () => {
  it("leaves no empty lock file behind when writing its owner fails (ENOSPC), so the next caller does not wait for it", async () => {
    const mnt = join(dir, "full");
    await mkdir(mnt);
    const mounted = spawnSync("mount", ["-t", "tmpfs", "-o", "size=4k", "tmpfs", mnt]);
    if (mounted.status !== 0) return; // needs root
    try {
      // Fill it: the lock file can still be created (an inode), but not written (no block).
      await writeFile(join(mnt, "filler"), new Uint8Array(4096));
      const lock = join(mnt, "record.lock");
      const error = await withFileLock(lock, async () => "ran").catch((e: unknown) => e);
      expect((error as NodeJS.ErrnoException).code).toBe("ENOSPC");
      expect(await readdir(mnt)).toEqual(["filler"]);
      // With room again, the next caller gets the lock at once, not after the empty lock's grace.
      await rm(join(mnt, "filler"));
      const started = Date.now();
      expect(await withFileLock(lock, async () => "ran", 1_000)).toBe("ran");
      expect(Date.now() - started).toBeLessThan(1_000);
    } finally {
      spawnSync("umount", [mnt]);
    }
  });
});
