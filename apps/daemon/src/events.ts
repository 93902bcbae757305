import { goJsonMap, goJsonString, goJsonStruct } from "@store/internal";

/** One image event, as dockerd's events.Message (Type "image"). */
export interface ImageEvent {
  /** pull, push, tag, untag, delete, import, load, save, prune. */
  action: string;
  /** The image ID, or the reference for pull and push (as dockerd). */
  id: string;
  /** `Actor.Attributes`: `name` and the image's labels. */
  attributes: Readonly<Record<string, string>>;
  /** Nanoseconds since the epoch. */
  timeNano: bigint;
}

/** The event as dockerd writes it on `/events`: events.Message's keys in its order. */
export function eventJson(event: ImageEvent): string {
  const seconds = event.timeNano / 1_000_000_000n;
  return goJsonStruct([
    ["status", goJsonString(event.action)],
    ["id", event.id === "" ? undefined : goJsonString(event.id)],
    ["Type", '"image"'],
    ["Action", goJsonString(event.action)],
    [
      "Actor",
      goJsonStruct([
        ["ID", goJsonString(event.id)],
        ["Attributes", goJsonMap(Object.entries(event.attributes), goJsonString)],
      ]),
    ],
    ["scope", '"local"'],
    ["time", String(seconds)],
    ["timeNano", String(event.timeNano)],
  ]);
}

/** How many past events a new `/events` client can ask for with `since` (dockerd keeps 1024 too). */
const KEPT = 1024;

/**
 * The daemon's image events: kept (the last {@link KEPT}) for `since`, and told to every
 * `/events` client as they happen.
 */
export class EventLog {
  readonly #kept: ImageEvent[] = [];
  readonly #listeners = new Set<(event: ImageEvent) => void>();

  /** Records an event happening now. */
  record(action: string, id: string, attributes: Readonly<Record<string, string>> = {}): void {
    const event: ImageEvent = { action, id, attributes, timeNano: process.hrtime.bigint() - hrtimeOrigin + epochOrigin };
    this.#kept.push(event);
    if (this.#kept.length > KEPT) this.#kept.shift();
    for (const listener of this.#listeners) listener(event);
  }

  /** The kept events, oldest first. */
  past(): readonly ImageEvent[] {
    return this.#kept;
  }

  /** Hears every new event until the returned function is called. */
  subscribe(listener: (event: ImageEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

// Nanosecond event times that never go backwards within a run: the wall clock once, then the
// monotonic clock's progress added to it.
const epochOrigin = BigInt(Date.now()) * 1_000_000n;
const hrtimeOrigin = process.hrtime.bigint();
