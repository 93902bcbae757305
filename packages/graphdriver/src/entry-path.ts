/**
 * Go's `path.Clean`: the shortest path equivalent to `p` by purely lexical processing. moby cleans
 * every tar entry name with it before deciding where the entry goes, so we must clean the same
 * way to accept and refuse the same names.
 */
export function cleanPath(p: string): string {
  if (p === "") return ".";
  const rooted = p.startsWith("/");
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!rooted) out.push("..");
      // `/..` is `/`: a rooted path cannot climb above the root.
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  if (rooted) return "/" + joined;
  return joined === "" ? "." : joined;
}

/**
 * Where a tar entry name lands inside the extraction root, as moby's `filepath.Join(dest,
 * filepath.Clean(name))` decides it: absolute names are taken relative to the root (`/etc/x` →
 * `etc/x`), `.` is the root itself. Returns `undefined` when the name climbs out of the root
 * (`../x`, `a/../../x`): moby's breakout error.
 */
export function entryRelativePath(name: string): string | undefined {
  const cleaned = cleanPath(name);
  if (cleaned === ".." || cleaned.startsWith("../")) return undefined;
  if (cleaned === "/") return ".";
  return cleaned.startsWith("/") ? cleaned.slice(1) : cleaned;
}

/** The parent of a root-relative path (`a/b` → `a`, `a` → `.`). */
export function parentOf(rel: string): string {
  const i = rel.lastIndexOf("/");
  return i < 0 ? "." : rel.slice(0, i);
}

