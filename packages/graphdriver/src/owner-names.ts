import { readFile } from "node:fs/promises";

/** uid → user name and gid → group name, from the host's /etc/passwd and /etc/group. */
export interface OwnerNames {
  user(uid: number): string;
  group(gid: number): string;
}

async function readIdMap(path: string): Promise<Map<number, string>> {
  const names = new Map<number, string>();
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return names;
  }
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const [name, , id] = line.split(":");
    const n = Number(id);
    // The first line for an id wins, as getpwuid(3) answers.
    if (name !== undefined && name !== "" && Number.isInteger(n) && !names.has(n)) names.set(n, name);
  }
  return names;
}

/**
 * Names as dockerd 20.10 puts them into the tars it exports: Go's `tar.FileInfoHeader` looks up
 * each uid/gid on the host (best effort, "" when unknown). Later dockerd versions stopped doing
 * lookups; pass {@link noOwnerNames} to write tars as they do.
 */
export async function hostOwnerNames(): Promise<OwnerNames> {
  const [users, groups] = await Promise.all([readIdMap("/etc/passwd"), readIdMap("/etc/group")]);
  return {
    user: (uid) => users.get(uid) ?? "",
    group: (gid) => groups.get(gid) ?? "",
  };
}

/** No lookups: empty uname and gname. */
export const noOwnerNames: OwnerNames = { user: () => "", group: () => "" };
