import { statSync } from "node:fs";
import { join } from "node:path";
import type { ConfigStamp } from "@store/image";

/**
 * Stamps of the configs of an fs imagedb (`<imagedb>/content/<algorithm>/<hex>`, dockerd's
 * layout): size, inode, mtime and ctime of the file, one stat each. Writing a config in place,
 * renaming another file over it or touching it changes at least one (ctime cannot be set back),
 * so the record cache re-reads and verifies exactly the configs that changed. Synchronous: ten
 * thousand stats of warm inodes take a few milliseconds, where as many thread-pool round trips
 * would take several times that.
 */
export function fsConfigStamp(imagedb: string): ConfigStamp {
  const content = join(imagedb, "content");
  return (id) => {
    try {
      const s = statSync(join(content, id.algorithm, id.encoded), { bigint: true, throwIfNoEntry: false });
      return s === undefined ? undefined : `${s.size}.${s.ino}.${s.mtimeNs}.${s.ctimeNs}`;
    } catch {
      return undefined;
    }
  };
}
