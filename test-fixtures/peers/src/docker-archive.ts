import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

/** One layer of a hand-made image: file paths (relative, `/`-separated) and their contents. */
export type LayerFiles = Record<string, string | Uint8Array>;

/** What {@link writeDockerArchive} wrote. */
export interface WrittenArchive {
  /** `sha256:<hex>` of the config: the image ID dockerd would give it. */
  id: string;
  /** The uncompressed layer digests, in order. */
  diffIds: string[];
}

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}: ${err.trim()}`))));
  });
}

// GNU tar flags that make a layer depend on its files alone (same bytes, same diffID, every run).
const reproducible = [
  "--sort=name",
  "--mtime=2020-01-02 03:04:05Z",
  "--owner=0",
  "--group=0",
  "--numeric-owner",
  "--format=posix",
  "--pax-option=delete=atime,delete=ctime",
];

/**
 * Writes a `docker save`-style archive (manifest.json, `<id>.json`, `<diffid>/layer.tar`,
 * uncompressed layers) of an image made of `layers`, tagged `tag`, with GNU tar and no dockerd:
 * a quick way to an image for registry tests (push it with `pushArchiveToRegistry`).
 */
export async function writeDockerArchive(path: string, tag: string, layers: readonly LayerFiles[]): Promise<WrittenArchive> {
  const work = await mkdtemp(join(tmpdir(), "docker-archive-"));
  try {
    const out = join(work, "archive");
    await mkdir(out);
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    for (const [i, files] of layers.entries()) {
      const root = join(work, `layer${i}`);
      await mkdir(root);
      for (const [name, content] of Object.entries(files)) {
        await mkdir(dirname(join(root, name)), { recursive: true });
        await writeFile(join(root, name), content);
      }
      const tarPath = join(work, `layer${i}.tar`);
      await run("tar", ["-C", root, ...reproducible, "-cf", tarPath, "."]);
      const bytes = await readFile(tarPath);
      const hex = createHash("sha256").update(bytes).digest("hex");
      diffIds.push(`sha256:${hex}`);
      await mkdir(join(out, hex), { recursive: true });
      await writeFile(join(out, hex, "layer.tar"), bytes);
      layerPaths.push(`${hex}/layer.tar`);
    }
    const config = JSON.stringify({
      architecture: "amd64",
      os: "linux",
      config: { Env: ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"] },
      created: "2020-01-02T03:04:05Z",
      history: layers.map((_, i) => ({ created: "2020-01-02T03:04:05Z", created_by: `layer ${i}` })),
      rootfs: { type: "layers", diff_ids: diffIds },
    });
    const configHex = createHash("sha256").update(config).digest("hex");
    await writeFile(join(out, `${configHex}.json`), config);
    await writeFile(join(out, "manifest.json"), JSON.stringify([{ Config: `${configHex}.json`, RepoTags: [tag], Layers: layerPaths }]));
    await run("tar", ["-C", out, ...reproducible, "-cf", path, "."]);
    return { id: `sha256:${configHex}`, diffIds };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
