import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { linkSync, mkdirSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hasRoot, which } from "@store/test-peers";

export interface TreeOptions {
  /** Only what --format=ustar can hold (names ≤ 255 split at a slash, link targets ≤ 100). */
  ustar?: boolean;
}

/**
 * A directory tree that exercises every header path: long names (> 100 and > 255 bytes), long
 * link targets, hard links, a FIFO, a device (as root), non-UTF-8 and escaping-sensitive names,
 * xattrs, and contents of sizes around the block size.
 */
export function makeTrickyTree(dir: string, options: TreeOptions = {}): void {
  const a = "a".repeat(60);
  const b = "b".repeat(60);
  mkdirSync(join(dir, "d1", a, b), { recursive: true });
  writeFileSync(join(dir, "d1", a, b, "file-with-a-name-past-one-hundred-bytes.txt"), "deep\n");
  writeFileSync(join(dir, "empty"), "");
  writeFileSync(join(dir, "small"), "hello\n");
  writeFileSync(join(dir, "block"), randomBytes(512));
  writeFileSync(join(dir, "big"), randomBytes((1 << 20) + 3));
  writeFileSync(join(dir, "html<&>"), "<&>\n");
  writeFileSync(join(dir, "ctl\u0001\u0008\u001f"), "q");
  writeFileSync(join(dir, "unicode-é-😀-\u2028"), "u\n");
  writeFileSync(join(dir, 'quote"back\\slash'), "x");
  writeFileSync(Buffer.from([...Buffer.from(`${dir}/name-`), 0xff, 0xfe, 0x80]), "not utf-8\n");
  symlinkSync("small", join(dir, "link-short"));
  linkSync(join(dir, "small"), join(dir, "hardlink"));
  execFileSync("mkfifo", [join(dir, "fifo")]);
  if (hasRoot() && which("mknod")) execFileSync("mknod", [join(dir, "null-device"), "c", "1", "3"]);
  if (which("setfattr")) {
    writeFileSync(join(dir, "with-xattr"), "xattr\n");
    execFileSync("setfattr", ["-n", "user.test", "-v", "hello", join(dir, "with-xattr")]);
    execFileSync("setfattr", ["-n", "user.bin", "-v", "0x00ff10", join(dir, "with-xattr")]);
  }
  if (!options.ustar) {
    const long = "c".repeat(200);
    mkdirSync(join(dir, long));
    writeFileSync(join(dir, long, "d".repeat(200)), "very long\n");
    symlinkSync("t".repeat(150), join(dir, "link-long"));
    linkSync(join(dir, long, "d".repeat(200)), join(dir, "hardlink-to-long"));
  }
}
