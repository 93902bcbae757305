import { chmod, chown, lstat, mkdir, readFile, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { type Server, connect } from "node:net";
import { DaemonError, DaemonErrorCode } from "../errors";

/** The gid of a group named (or numbered) in /etc/group. */
async function groupId(group: string): Promise<number> {
  if (/^\d+$/.test(group)) return Number(group);
  const text = await readFile("/etc/group", "utf8").catch(() => "");
  for (const line of text.split("\n")) {
    const [name, , gid] = line.split(":");
    if (name === group && gid !== undefined) return Number(gid);
  }
  throw new DaemonError(DaemonErrorCode.GroupNotFound, `group ${JSON.stringify(group)} not found (--group)`);
}

/** Whether a daemon answers on the socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

/**
 * Listens on a unix socket as dockerd does: a stale socket file is replaced, the socket is made
 * mode 0660 (owned by `group` when given): who can reach it controls the daemon, as root does
 * dockerd. A socket another daemon still answers on is refused rather than stolen.
 */
export async function listenUnix(server: Server, path: string, group: string | undefined): Promise<void> {
  const gid = group === undefined ? undefined : await groupId(group);
  await mkdir(dirname(path), { recursive: true });
  const existing = await lstat(path).catch(() => undefined);
  if (existing) {
    if (!existing.isSocket()) throw new DaemonError(DaemonErrorCode.SocketInUse, `${path} exists and is not a socket: refusing to replace it`);
    if (await answers(path)) throw new DaemonError(DaemonErrorCode.SocketInUse, `a daemon is already listening on ${path}`);
    await unlink(path);
  }
  // Created with no access, then opened up: no moment where anyone else can connect.
  const umask = process.umask(0o777);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(path, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } finally {
    process.umask(umask);
  }
  if (gid !== undefined) await chown(path, process.getuid?.() ?? 0, gid);
  await chmod(path, 0o660);
}
