import type { ReferenceChange, SharedImageRecord } from "./reference-change";
import type { SharedState } from "./shared-state";

/** One record of the log as the reader holds it: its name (which orders it) and its changes. */
export interface NamedChanges {
  readonly name: string;
  readonly changes: readonly ReferenceChange[];
}

/** The state before any record: no images, no references, position "". */
export function emptySharedState(): SharedState {
  return { position: "", images: new Map(), references: new Map() };
}

/**
 * The state after `records`, applied in the order given, on top of `state`. Pure: `state` is never
 * modified, so a state handed out by `current()` stays valid; the maps are copied once per call,
 * not once per change, which keeps replaying a long tail linear. The position becomes the last
 * record's name.
 *
 * Semantics (see ReferenceChange): `image` sets the image; `tag` sets the reference even when the
 * image is not (yet) in `images` — the record that adds it may be this one, a later one from a
 * slow host, or already applied; `untag` of a missing reference does nothing; `delete-image`
 * drops the image only if no reference points at it any more (see ReferenceChange).
 */
export function applyRecords(state: SharedState, records: readonly NamedChanges[]): SharedState {
  if (records.length === 0) return state;
  const images = new Map<string, SharedImageRecord>(state.images);
  const references = new Map<string, string>(state.references);
  for (const record of records) {
    for (const change of record.changes) applyChange(images, references, change);
  }
  return { position: records[records.length - 1]!.name, images, references };
}

/** {@link applyRecords} of one record. */
export function applyChanges(state: SharedState, name: string, changes: readonly ReferenceChange[]): SharedState {
  return applyRecords(state, [{ name, changes }]);
}

function applyChange(images: Map<string, SharedImageRecord>, references: Map<string, string>, change: ReferenceChange): void {
  switch (change.op) {
    case "image":
      images.set(change.image.id, change.image);
      return;
    case "tag":
      references.set(change.reference, change.image);
      return;
    case "untag":
      references.delete(change.reference);
      return;
    case "delete-image":
      for (const image of references.values()) if (image === change.image) return;
      images.delete(change.image);
      return;
  }
}
