import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The socket `stored` listens on when given no `-H`: `$XDG_RUNTIME_DIR/stored.sock` (the user's
 * runtime dir, removed at logout), else `/run/stored.sock` for root, else
 * `<tmpdir>/stored-<uid>.sock`. Never dockerd's `/var/run/docker.sock`: both may run at once.
 */
export function defaultSocket(env: Readonly<Record<string, string | undefined>>, uid: number = process.getuid?.() ?? -1): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, "stored.sock");
  if (uid === 0) return "/run/stored.sock";
  return join(tmpdir(), `stored-${uid}.sock`);
}
