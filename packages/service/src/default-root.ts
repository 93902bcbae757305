import { homedir } from "node:os";
import { join } from "node:path";

/**
 * The store the `store` CLI and the `stored` daemon use when given no root (`--root`,
 * `--data-root`): `$STORE_ROOT`, else `$XDG_DATA_HOME/store`, else `~/.local/share/store` (the
 * XDG default), so a first `store import` works with no set-up and both apps see one store.
 */
export function defaultRoot(env: Readonly<Record<string, string | undefined>>): string {
  if (env.STORE_ROOT) return env.STORE_ROOT;
  if (env.XDG_DATA_HOME) return join(env.XDG_DATA_HOME, "store");
  return join(env.HOME || homedir(), ".local", "share", "store");
}
