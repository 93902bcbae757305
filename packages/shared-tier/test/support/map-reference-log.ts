import type { ReferenceChange, ReferenceLog, SharedImageRecord, SharedState } from "../../src/index";

/**
 * A stand-in for the reference log (being written beside this work) over two Maps the test
 * controls: the collector reads only `refresh()`, so this is all it needs. Not a model of the
 * real log's ordering or snapshots.
 */
export class MapReferenceLog implements ReferenceLog {
  readonly mode = "compare-and-swap" as const;
  readonly images = new Map<string, SharedImageRecord>();
  readonly references = new Map<string, string>();
  /** Calls to refresh(), for tests that check the collector looked twice. */
  refreshes = 0;

  async append(changes: readonly ReferenceChange[]): Promise<void> {
    for (const change of changes) {
      if (change.op === "image") this.images.set(change.image.id, change.image);
      else if (change.op === "tag") this.references.set(change.reference, change.image);
      else if (change.op === "untag") this.references.delete(change.reference);
      else {
        this.images.delete(change.image);
        for (const [reference, image] of this.references) if (image === change.image) this.references.delete(reference);
      }
    }
  }

  async refresh(): Promise<SharedState> {
    this.refreshes++;
    return this.current();
  }

  current(): SharedState {
    return { position: "", images: new Map(this.images), references: new Map(this.references) };
  }

  async compact(): Promise<void> {}
}

/** An image record naming `config` as its ID, `manifest` and `layers`, as the log would hold it. */
export function imageRecord(config: string, manifest: string, layers: string[]): SharedImageRecord {
  return {
    id: config,
    manifest: { digest: manifest, mediaType: "application/vnd.docker.distribution.manifest.v2+json", size: 1 },
    configSize: 1,
    layers: layers.map((digest) => ({ digest, mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip", size: 1, diffId: digest })),
    size: layers.length,
  };
}
