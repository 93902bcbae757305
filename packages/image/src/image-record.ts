import type { Digest } from "@store/digest";
import type { Layer } from "@store/layer";
import type { GoTime } from "./go-time";
import { type ParsedImageConfig, configLabels } from "./image";

/**
 * What the image store keeps in memory per image: enough to list, filter and walk lineage
 * without reading configs back (dockerd re-reads every config on each `docker images`). The
 * config itself stays in the backend; {@link ImageStore.get} reads it.
 */
export interface ImageRecord {
  readonly id: Digest;
  /** The parent image, from `parent` metadata. */
  readonly parent: Digest | undefined;
  readonly created: GoTime;
  /** `config.Labels`; undefined when none. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  /** Whether the config has a run config at all (a label filter skips those that do not). */
  readonly hasRunConfig: boolean;
  /** The retained top layer; undefined for an image with no layers. */
  readonly layer: Layer | undefined;
  readonly chainId: Digest | undefined;
  /** Bytes of the whole layer chain (0 without layers): docker's image Size. */
  readonly size: number;
}

/** The mutable record behind the read-only view. */
export interface MutableImageRecord extends ImageRecord {
  parent: Digest | undefined;
  /** The children's IDs; undefined until the first (most images have none, and an empty Set costs ~200 bytes). */
  children: Set<string> | undefined;
}

export function addChild(parent: MutableImageRecord, child: string): void {
  (parent.children ??= new Set()).add(child);
}

export function removeChild(parent: MutableImageRecord, child: string): void {
  if (parent.children?.delete(child) && parent.children.size === 0) parent.children = undefined;
}

/** What a record takes from an image's config: all restore keeps of it (and all a record cache holds). */
export interface RecordFields {
  readonly created: GoTime;
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly hasRunConfig: boolean;
  readonly chainId: Digest | undefined;
}

export function recordFields(parsed: ParsedImageConfig): RecordFields {
  const labels = configLabels(parsed.runConfig);
  return {
    created: parsed.created,
    // An empty map is as good as none for filtering, and costs memory on 100,000 images.
    labels: labels && Object.keys(labels).length > 0 ? labels : undefined,
    hasRunConfig: parsed.runConfig !== undefined,
    chainId: parsed.chainId,
  };
}

/** `size` is the layer's when known already (restore computes it once per layer). */
export function newRecord(id: Digest, fields: RecordFields, layer: Layer | undefined, size = layer?.size ?? 0): MutableImageRecord {
  return {
    id,
    parent: undefined,
    created: fields.created,
    labels: fields.labels,
    hasRunConfig: fields.hasRunConfig,
    layer,
    chainId: fields.chainId,
    size,
    children: undefined,
  };
}
