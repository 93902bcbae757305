import type { SharedImageRecord } from "./reference-change";

/** The shared references after some prefix of the log: what every host lists. */
export interface SharedState {
  /** The name of the last record applied ("" before any). */
  readonly position: string;
  /** Images by ID. */
  readonly images: ReadonlyMap<string, SharedImageRecord>;
  /** Normalised references (`name:tag`, `name@digest`) → image ID. */
  readonly references: ReadonlyMap<string, string>;
}
