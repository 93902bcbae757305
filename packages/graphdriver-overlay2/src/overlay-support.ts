import { chmod, mkdir, mkdtemp, readFile, readdir, rm, statfs, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { GraphDriverError, GraphDriverErrorCode } from "@store/graphdriver";
import { direntTypes, mount, unmount } from "./libc";

/** What the support check found out, reported by `status()`. */
export interface OverlaySupport {
  /** dockerd's name for the filesystem under the home (`extfs`, `xfs`…). */
  backingFilesystem: string;
  /** False when the kernel may write redirect/metacopy xattrs, which diffing the upper dir misses. */
  nativeDiff: boolean;
  /** `index=off,` when the kernel knows the option (so a moved layer still mounts), else "". */
  indexOff: string;
  /**
   * Whether the test mount ran: it needs root, and is skipped for a home that already holds
   * layers (checked when it was made). A mount that fails later says so itself.
   */
  mountChecked: boolean;
}

// statfs f_type magics, named as dockerd's fsutils / graphdriver.FsNames name them.
const filesystems = new Map<number, string>([
  [0xef53, "extfs"],
  [0x58465342, "xfs"],
  [0x9123683e, "btrfs"],
  [0x01021994, "tmpfs"],
  [0x794c7630, "overlayfs"],
  [0x61756673, "aufs"],
  [0x2fc12fc1, "zfs"],
  [0xf15f, "ecryptfs"],
  [0x6969, "nfs"],
  [0x65735546, "fuse"],
]);
// dockerd refuses overlay2 on these: overlay cannot use them as upper layers.
const unsupportedBacking = new Set(["overlayfs", "aufs", "zfs", "ecryptfs"]);

function unsupported(home: string, why: string, cause?: unknown): GraphDriverError {
  return new GraphDriverError(GraphDriverErrorCode.Unsupported, `graph driver overlay2 is not supported in ${home}: ${why}`, {
    details: { driver: "overlay2", home },
    cause,
  });
}

async function kernelParameter(name: string): Promise<string | undefined> {
  try {
    return (await readFile(`/sys/module/overlay/parameters/${name}`, "utf8")).trim();
  } catch {
    return undefined;
  }
}

const DT_UNKNOWN = 0;

/**
 * dockerd's overlay2 `Init` checks, in a temp dir under `home` (created 0710): the kernel has
 * overlay, the backing filesystem can hold an upper layer and fills `d_type`, and (as root) a
 * real overlay mount with two lower dirs works. For a home that already holds layers, only what
 * can be checked without writing (kernel, backing filesystem, `d_type` of its entries).
 */
export async function checkOverlaySupport(home: string): Promise<OverlaySupport> {
  if (process.platform !== "linux") throw unsupported(home, `overlay is Linux-only (platform ${process.platform})`);
  const filesystemsList = await readFile("/proc/filesystems", "utf8").catch(() => "");
  if (!/\toverlay$/m.test(filesystemsList)) throw unsupported(home, "the kernel does not list overlay in /proc/filesystems");

  // A home that already holds layers passed these checks when it was made: look at it without
  // writing, so a read-only copy of a root (a snapshot, a backup) can still be listed and saved.
  const existing = await readdir(home).catch(() => [] as string[]);
  if (existing.length > 0) {
    const magic = (await statfs(home)).type;
    const backingFilesystem = filesystems.get(magic) ?? `<unknown 0x${magic.toString(16)}>`;
    if (unsupportedBacking.has(backingFilesystem)) {
      throw unsupported(home, `the backing filesystem ${backingFilesystem} cannot hold overlay upper layers`);
    }
    if ([...direntTypes(home).values()].some((t) => t === DT_UNKNOWN)) {
      throw unsupported(home, `the backing filesystem ${backingFilesystem} does not support d_type (for xfs: mkfs.xfs -n ftype=1)`);
    }
    return { backingFilesystem, ...(await kernelFeatures()), mountChecked: false };
  }

  await mkdir(home, { recursive: true, mode: 0o710 });
  await chmod(home, 0o710);
  const magic = (await statfs(home)).type;
  const backingFilesystem = filesystems.get(magic) ?? `<unknown 0x${magic.toString(16)}>`;
  if (unsupportedBacking.has(backingFilesystem)) {
    throw unsupported(home, `the backing filesystem ${backingFilesystem} cannot hold overlay upper layers`);
  }

  const probe = await mkdtemp(join(home, "multiple-lowers"));
  let mountChecked = false;
  try {
    await writeFile(join(probe, "d_type"), "");
    const type = direntTypes(probe).get("d_type");
    if (type === undefined || type === DT_UNKNOWN) {
      throw unsupported(home, `the backing filesystem ${backingFilesystem} does not support d_type (for xfs: mkfs.xfs -n ftype=1)`);
    }
    if (typeof process.getuid === "function" && process.getuid() === 0) {
      for (const dir of ["lower1", "lower2", "upper", "work", "merged"]) await mkdir(join(probe, dir));
      const options = `lowerdir=${join(probe, "lower2")}:${join(probe, "lower1")},upperdir=${join(probe, "upper")},workdir=${join(probe, "work")}`;
      try {
        // volatile (Linux 5.10+): unmounting a plain overlay syncs the whole backing
        // filesystem, which after a big load took 100-200 ms of every `store` command's start.
        // The probe's upper dir holds nothing worth syncing. Older kernels refuse the option.
        try {
          mount("overlay", join(probe, "merged"), "overlay", 0, `${options},volatile`);
        } catch {
          mount("overlay", join(probe, "merged"), "overlay", 0, options);
        }
      } catch (error) {
        throw unsupported(home, `a test overlay mount with two lower dirs failed: ${(error as Error).message}`, error);
      }
      unmount(join(probe, "merged"));
      mountChecked = true;
    }
  } finally {
    await rm(probe, { recursive: true, force: true });
  }

  return { backingFilesystem, ...(await kernelFeatures()), mountChecked };
}

/** What the kernel's overlay module does that changes how layers are diffed and mounted. */
async function kernelFeatures(): Promise<Pick<OverlaySupport, "nativeDiff" | "indexOff">> {
  const redirectDir = await kernelParameter("redirect_dir");
  const metacopy = await kernelParameter("metacopy");
  return {
    nativeDiff: redirectDir !== "Y" && metacopy !== "Y",
    indexOff: existsSync("/sys/module/overlay/parameters/index") ? "index=off," : "",
  };
}
