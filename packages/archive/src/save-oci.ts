import { digestFromBytes } from "@store/digest";
import type { Layer } from "@store/layer";
import { type ArchiveEntry, dirEntry, epoch, fileEntry, streamEntry } from "./archive-entries";
import { goJsonMap, goJsonString, goJsonStruct } from "@store/internal";
import { Annotation, MediaType, OCI_LAYOUT } from "./oci-types";
import { layerChain } from "./save-docker";
import type { LayerTar } from "./save-layer-tar";
import type { SaveImage } from "./save-set";

const descriptor = (mediaType: string, digest: string, size: number, annotations?: Map<string, string>) =>
  goJsonStruct([
    ["mediaType", goJsonString(mediaType)],
    ["digest", goJsonString(digest)],
    ["size", String(size)],
    ["annotations", annotations && annotations.size > 0 ? goJsonMap(annotations, goJsonString) : undefined],
  ]);

/**
 * The entries of an OCI image layout (`docker save --format oci`): `oci-layout`, `index.json`
 * (one descriptor per tag, named as Docker 25+ names them: `io.containerd.image.name` = the
 * full reference, `org.opencontainers.image.ref.name` = the tag; an untagged image gets one
 * plain descriptor), then `blobs/sha256/`: manifests and configs, then the uncompressed layers
 * in chain order. The index and manifests come first so a streaming reader (ours) can register
 * every layer as it arrives; the layout itself does not fix an order.
 */
export async function ociLayoutEntries(set: readonly SaveImage[], layerTar: (layer: Layer) => Promise<LayerTar>): Promise<ArchiveEntry[]> {
  const index: string[] = [];
  const metadata = new Map<string, ArchiveEntry>();
  const layerBlobs = new Map<string, ArchiveEntry>();
  for (const img of set) {
    const chain = layerChain(img);
    const layers: string[] = [];
    for (const layer of chain) {
      const tar = await layerTar(layer);
      layers.push(descriptor(MediaType.OciLayer, layer.diffId.toString(), tar.size));
      const name = `blobs/sha256/${layer.diffId.encoded}`;
      if (!layerBlobs.has(name)) layerBlobs.set(name, streamEntry(name, tar.size, tar.open, epoch));
    }
    metadata.set(`blobs/sha256/${img.id.encoded}`, fileEntry(`blobs/sha256/${img.id.encoded}`, img.image.raw, epoch));
    const manifest = Buffer.from(
      goJsonStruct([
        ["schemaVersion", "2"],
        ["mediaType", goJsonString(MediaType.OciManifest)],
        ["config", descriptor(MediaType.OciConfig, img.id.toString(), img.image.raw.byteLength)],
        ["layers", `[${layers.join(",")}]`],
      ]),
    );
    const digest = digestFromBytes(manifest);
    metadata.set(`blobs/sha256/${digest.encoded}`, fileEntry(`blobs/sha256/${digest.encoded}`, manifest, epoch));
    if (img.refs.length === 0) index.push(descriptor(MediaType.OciManifest, digest.toString(), manifest.byteLength));
    for (const ref of img.refs) {
      const annotations = new Map([
        [Annotation.ImageName, ref.toString()],
        [Annotation.RefName, ref.tag!],
      ]);
      index.push(descriptor(MediaType.OciManifest, digest.toString(), manifest.byteLength, annotations));
    }
  }
  const indexJson = goJsonStruct([
    ["schemaVersion", "2"],
    ["mediaType", goJsonString(MediaType.OciIndex)],
    ["manifests", `[${index.join(",")}]`],
  ]);
  return [
    fileEntry("oci-layout", OCI_LAYOUT, epoch),
    fileEntry("index.json", indexJson, epoch),
    dirEntry("blobs", epoch),
    dirEntry("blobs/sha256", epoch),
    ...[...metadata.keys()].sort().map((k) => metadata.get(k)!),
    ...layerBlobs.values(),
  ];
}
