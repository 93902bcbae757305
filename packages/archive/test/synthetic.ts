import { gzipSync } from "node:zlib";
import { type Digest, chainId, digestFromBytes } from "@store/digest";
import { writeTar, type TarWriteEntry } from "@store/tar-split";
import { collect } from "./helpers";

/** A small layer tar with the given files (and their parent dirs). */
export async function layerTar(files: Record<string, string>): Promise<Buffer> {
  const entries: TarWriteEntry[] = [];
  const dirs = new Set<string>();
  for (const name of Object.keys(files)) {
    const parts = name.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(`${parts.slice(0, i).join("/")}/`);
  }
  for (const d of [...dirs].sort()) entries.push({ header: { name: d, type: "directory", mtime: new Date(1e12) } });
  for (const [name, content] of Object.entries(files)) entries.push({ header: { name, type: "file", mtime: new Date(1e12) }, body: Buffer.from(content) });
  return collect(writeTar(entries));
}

export interface SyntheticImage {
  config: Buffer;
  id: Digest;
  layers: Buffer[];
  diffIds: Digest[];
  chainId: Digest;
}

/** An image config over `layers` (diff IDs computed unless given). */
export function syntheticImage(layers: Buffer[], options: { diffIds?: Digest[]; comment?: string } = {}): SyntheticImage {
  const diffIds = options.diffIds ?? layers.map((l) => digestFromBytes(l));
  const config = Buffer.from(
    JSON.stringify({
      architecture: "amd64",
      os: "linux",
      created: "2024-01-02T03:04:05.123456789Z",
      comment: options.comment ?? "synthetic",
      config: { Cmd: ["sh"] },
      rootfs: { type: "layers", diff_ids: diffIds.map(String) },
      history: layers.map(() => ({ created: "2024-01-02T03:04:05Z", created_by: "test" })),
    }),
  );
  return { config, id: digestFromBytes(config), layers, diffIds, chainId: chainId(diffIds)! };
}

export type ArchiveFile = { name: string; body?: Buffer | string; type?: TarWriteEntry["header"]["type"]; linkname?: string };

/** A tar from named files, in the order given. */
export async function archive(files: ArchiveFile[], options: { gzip?: boolean } = {}): Promise<Buffer> {
  const tar = await collect(
    writeTar(
      files.map((f) => ({
        header: { name: f.name, type: f.type ?? "file", ...(f.linkname ? { linkname: f.linkname } : {}) },
        ...(f.body !== undefined ? { body: Buffer.from(f.body) } : {}),
      })),
    ),
  );
  return options.gzip ? gzipSync(tar) : tar;
}

/** docker-archive files for images: `<n>/layer.tar` per layer, `<id>.json`, manifest.json (first or last). */
export function dockerArchiveFiles(
  images: Array<{ image: SyntheticImage; tags: string[] }>,
  options: { manifestFirst?: boolean; manifest?: unknown } = {},
): ArchiveFile[] {
  const files: ArchiveFile[] = [];
  const items: unknown[] = [];
  for (const { image, tags } of images) {
    const layerNames: string[] = [];
    image.layers.forEach((layer, i) => {
      const dir = digestFromBytes(Buffer.concat([Buffer.from(image.id.toString()), Buffer.from(String(i))])).encoded;
      layerNames.push(`${dir}/layer.tar`);
      files.push({ name: `${dir}/layer.tar`, body: layer });
    });
    files.push({ name: `${image.id.encoded}.json`, body: image.config });
    items.push({ Config: `${image.id.encoded}.json`, RepoTags: tags, Layers: layerNames });
  }
  const manifestFile = { name: "manifest.json", body: JSON.stringify(options.manifest !== undefined ? options.manifest : items) };
  return options.manifestFirst ? [manifestFile, ...files] : [...files, manifestFile];
}
