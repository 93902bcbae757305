import type { ChangeRecord, ReferenceChange, SharedImageRecord } from "./reference-change";
import type { SharedState } from "./shared-state";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The body of a snapshot (`refs/snapshots/<position>`): the state after every record up to `position`. */
export interface SnapshotBody {
  v: 1;
  position: string;
  /** Images by ID, sorted by ID. */
  images: [string, SharedImageRecord][];
  /** References → image ID, sorted by reference. */
  references: [string, string][];
}

/** The bytes of a change record. */
export function encodeChangeRecord(record: ChangeRecord): Uint8Array {
  return encoder.encode(canonicalJson(record));
}

/**
 * The bytes of the snapshot of `state`. Canonical (maps as arrays sorted by key, object keys
 * sorted, no whitespace): two hosts compacting the same prefix of the log write the same bytes,
 * whatever order their maps were filled in or their records' keys were written in.
 */
export function encodeSnapshot(state: SharedState): Uint8Array {
  const body: SnapshotBody = {
    v: 1,
    position: state.position,
    images: [...state.images].sort(byKey),
    references: [...state.references].sort(byKey),
  };
  return encoder.encode(canonicalJson(body));
}

/** The change record in `data`, or undefined when it is not one (half-written, damaged, a stranger's object). */
export function parseChangeRecord(data: Uint8Array): ChangeRecord | undefined {
  const value = parseJson(data);
  if (!isObject(value) || value.v !== 1 || typeof value.host !== "string" || typeof value.at !== "string") return undefined;
  if (!Array.isArray(value.changes) || !value.changes.every(isReferenceChange)) return undefined;
  return value as unknown as ChangeRecord;
}

/** The snapshot in `data` as a state, or undefined when it is not one. */
export function parseSnapshot(data: Uint8Array): SharedState | undefined {
  const value = parseJson(data);
  if (!isObject(value) || value.v !== 1 || typeof value.position !== "string") return undefined;
  const { images, references } = value;
  if (!Array.isArray(images) || !images.every((e) => isPair(e) && typeof e[0] === "string" && isImageRecord(e[1]) && e[1].id === e[0])) {
    return undefined;
  }
  if (!Array.isArray(references) || !references.every((e) => isPair(e) && typeof e[0] === "string" && typeof e[1] === "string")) {
    return undefined;
  }
  return {
    position: value.position,
    images: new Map(images as [string, SharedImageRecord][]),
    references: new Map(references as [string, string][]),
  };
}

function parseJson(data: Uint8Array): unknown {
  try {
    return JSON.parse(decoder.decode(data));
  } catch {
    return undefined;
  }
}

function isReferenceChange(value: unknown): value is ReferenceChange {
  if (!isObject(value)) return false;
  switch (value.op) {
    case "image":
      return isImageRecord(value.image);
    case "tag":
      return typeof value.reference === "string" && typeof value.image === "string";
    case "untag":
      return typeof value.reference === "string";
    case "delete-image":
      return typeof value.image === "string";
    default:
      return false;
  }
}

function isImageRecord(value: unknown): value is SharedImageRecord {
  if (!isObject(value) || typeof value.id !== "string" || typeof value.configSize !== "number" || typeof value.size !== "number") return false;
  const { manifest, layers } = value;
  if (!isObject(manifest) || typeof manifest.digest !== "string" || typeof manifest.mediaType !== "string" || typeof manifest.size !== "number") {
    return false;
  }
  return (
    Array.isArray(layers) &&
    layers.every(
      (l) => isObject(l) && typeof l.digest === "string" && typeof l.mediaType === "string" && typeof l.size === "number" && typeof l.diffId === "string",
    )
  );
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isPair(value: unknown): value is [unknown, unknown] {
  return Array.isArray(value) && value.length === 2;
}

function byKey(a: [string, unknown], b: [string, unknown]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

/** JSON with every object's keys sorted (by UTF-16 code unit, as the names of the log sort), undefined members dropped. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  if (isObject(value)) {
    const members = Object.keys(value)
      .filter((k) => value[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`);
    return `{${members.join(",")}}`;
  }
  return JSON.stringify(value);
}
