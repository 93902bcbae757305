import { execFileSync } from "node:child_process";
import { mkdtemp, mkdir, rm, symlink, writeFile, copyFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { DockerdPeer } from "./dockerd";

const applets = ["sh", "ls", "cat", "echo", "rm", "mkdir", "touch", "ln", "mkfifo", "chmod", "cp", "mv", "true", "sleep", "head", "dd", "sha256sum"];

/** Why busybox images cannot be built here, or undefined when they can (Debian's busybox-static). */
export function busyboxSkipReason(): string | undefined {
  try {
    execFileSync("/bin/busybox", ["true"], { stdio: "ignore" });
    return undefined;
  } catch {
    return "no static /bin/busybox (Debian: apt-get install busybox-static)";
  }
}

/**
 * Imports a base image made of a static busybox (no internet needed): `bin/busybox`, applet
 * symlinks, `/etc`, `/tmp`. Returns the image ID.
 */
export async function importBusyboxBase(peer: DockerdPeer, tag: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "busybox-rootfs-"));
  try {
    const rootfs = join(dir, "rootfs");
    await mkdir(join(rootfs, "bin"), { recursive: true });
    await mkdir(join(rootfs, "etc"), { recursive: true });
    await mkdir(join(rootfs, "tmp"), { recursive: true, mode: 0o1777 });
    await copyFile("/bin/busybox", join(rootfs, "bin", "busybox"));
    for (const a of applets) await symlink("busybox", join(rootfs, "bin", a));
    await writeFile(join(rootfs, "etc", "hostname"), "base\n");
    await writeFile(join(rootfs, "etc", "motd"), "welcome\n");
    const tar = execFileSync("tar", ["-C", rootfs, "--numeric-owner", "-c", "."], { maxBuffer: 64 << 20 });
    const r = await peer.docker(["import", "--change", 'CMD ["sh"]', "-", tag], tar);
    return r.stdout.toString().trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Builds `dockerfile` with the legacy builder (it records parent images and runs RUN steps in
 * containers with no network). Extra files for COPY go in `files`. Returns the image ID.
 */
export async function buildImage(peer: DockerdPeer, tag: string, dockerfile: string, files: Record<string, string | Uint8Array> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "docker-build-"));
  try {
    await writeFile(join(dir, "Dockerfile"), dockerfile);
    for (const [name, content] of Object.entries(files)) {
      await mkdir(join(dir, name, ".."), { recursive: true });
      await writeFile(join(dir, name), content);
    }
    await peer.docker(["build", "--network", "none", "-q", "-t", tag, dir], undefined, { env: { DOCKER_BUILDKIT: "0" }, timeoutMs: 300_000 });
    const r = await peer.docker(["image", "inspect", "-f", "{{.Id}}", tag]);
    return r.stdout.toString().trim();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
