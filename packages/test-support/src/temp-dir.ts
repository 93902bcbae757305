import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A fresh temp directory and its removal; `remove` never fails on a directory already gone. */
export async function tempDir(prefix = "store-test-"): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

/**
 * Runs `fn` in a fresh temp directory and removes it afterwards, whether `fn` returned or threw.
 */
export async function withTempDir<T>(fn: (path: string) => Promise<T>, prefix?: string): Promise<T> {
  const dir = await tempDir(prefix);
  try {
    return await fn(dir.path);
  } finally {
    await dir.remove();
  }
}
