import { type Digest, chainIds } from "@store/digest";
import type { ImageStore } from "@store/image";
import type { Layer } from "@store/layer";
import { type ArchiveEntry, dirEntry, epoch, fileEntry, streamEntry, symlinkEntry, walkOrder } from "./archive-entries";
import { ArchiveError, ArchiveErrorCode } from "./errors";
import { goJsonMap, goJsonString, goJsonStruct } from "@store/internal";
import type { LayerTar } from "./save-layer-tar";
import type { SaveImage } from "./save-set";
import { createV1Id, emptyV1Image, encodeV1Image, v1ImageOf } from "./v1-image";

/** The layers of an image bottom first, as views (the top handle keeps them alive). */
export function layerChain(img: SaveImage): Layer[] {
  const chain: Layer[] = [];
  for (let l: Layer | undefined = img.top; l; l = l.parent) chain.unshift(l);
  const diffIds = img.image.rootFS.diffIds;
  if (chain.length !== diffIds.length || chain.some((l, i) => !l.diffId.equals(diffIds[i]!))) {
    throw new ArchiveError(ArchiveErrorCode.LayerMismatch, `image ${img.id}: its layer chain does not match its config's diff_ids`, {
      details: { image: img.id.toString() },
    });
  }
  return chain;
}

const strings = (list: readonly string[] | null) => (list === null ? "null" : `[${list.map(goJsonString).join(",")}]`);

/**
 * The entries of the classic docker-archive dockerd 20.10's `docker save` writes: per layer
 * `<v1id>/{VERSION,json,layer.tar}` (a layer whose diff ID was written already is a symlink to
 * it), `<id>.json`, `manifest.json`, `repositories`, in Go's walk order, with dockerd's modes
 * and times (the image's creation time; the epoch for manifest.json and repositories). Where
 * dockerd is not deterministic (Go map order, the time of the save on symlinked layer dirs),
 * the images' order as named and their creation time are used, so the same images give the
 * same bytes on every run.
 */
export async function dockerArchiveEntries(
  set: readonly SaveImage[],
  images: ImageStore,
  layerTar: (layer: Layer) => Promise<LayerTar>,
): Promise<ArchiveEntry[]> {
  const entries: ArchiveEntry[] = [];
  const savedV1 = new Set<string>();
  const layerFileByDiffId = new Map<string, string>();
  const repositories = new Map<string, Map<string, string>>();
  const manifest: Array<{ config: string; repoTags: string[] | null; layers: string[]; parent?: Digest }> = [];

  for (const img of set) {
    const chain = layerChain(img);
    const chains = chainIds(img.image.rootFS.diffIds);
    const created = img.image.created;
    const top = v1ImageOf(img.image.config as Record<string, unknown>);
    let parent: Digest | undefined;
    const layerFiles: string[] = [];
    for (let i = 0; i < chain.length; i++) {
      const layer = chain[i]!;
      const v1 = i === chain.length - 1 ? top : emptyV1Image();
      const v1Id = createV1Id(v1, chains[i]!, parent);
      const dir = v1Id.encoded;
      layerFiles.push(`${dir}/layer.tar`);
      if (!savedV1.has(dir)) {
        savedV1.add(dir);
        const json = encodeV1Image({ ...v1, id: dir, parent: parent ? parent.encoded : v1.parent, os: top.os });
        entries.push(dirEntry(dir, created), fileEntry(`${dir}/VERSION`, "1.0", created), fileEntry(`${dir}/json`, json, created));
        const earlier = layerFileByDiffId.get(layer.diffId.toString());
        if (earlier) {
          entries.push(symlinkEntry(`${dir}/layer.tar`, `../${earlier}`, created));
        } else {
          layerFileByDiffId.set(layer.diffId.toString(), `${dir}/layer.tar`);
          const tar = await layerTar(layer);
          entries.push(streamEntry(`${dir}/layer.tar`, tar.size, tar.open, created));
        }
      }
      parent = v1Id;
    }
    const configName = `${img.id.encoded}.json`;
    entries.push(fileEntry(configName, img.image.raw, created));
    for (const ref of img.refs) {
      let repo = repositories.get(ref.familiarName);
      if (!repo) repositories.set(ref.familiarName, (repo = new Map()));
      repo.set(ref.tag!, parent!.encoded);
    }
    manifest.push({ config: configName, repoTags: img.refs.length > 0 ? img.refs.map((r) => r.familiar) : null, layers: layerFiles });
  }

  // moby's validatedParentLinks: a Parent only when the parent image is saved too.
  for (const [i, img] of set.entries()) {
    const p = images.getParent(img.id);
    if (p && !p.equals(img.id) && set.some((other) => other.id.equals(p))) manifest[i]!.parent = p;
  }

  if (repositories.size > 0) {
    entries.push(fileEntry("repositories", `${goJsonMap(repositories, (repo) => goJsonMap(repo, goJsonString))}\n`, epoch));
  }
  const manifestJson = `[${manifest
    .map((m) =>
      goJsonStruct([
        ["Config", goJsonString(m.config)],
        ["RepoTags", strings(m.repoTags)],
        ["Layers", strings(m.layers)],
        ["Parent", m.parent ? goJsonString(m.parent.toString()) : undefined],
      ]),
    )
    .join(",")}]\n`;
  entries.push(fileEntry("manifest.json", manifestJson, epoch));
  return entries.sort(walkOrder);
}
