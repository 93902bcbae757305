import { goJsonString, goJsonStruct } from "./go-json";

/**
 * The one progress model of the store: every long operation (load, import, save, verify, and
 * later pull and push) reports `ProgressEvent`s, shaped as docker's JSON progress messages
 * (moby pkg/jsonmessage), so that a CLI draws one bar or line per `id` and a daemon writes each
 * event to its response as it is, with {@link formatJsonMessage}.
 */

/** Bytes done and bytes expected; docker's `progressDetail` (each field omitted when unknown). */
export interface ProgressDetail {
  current?: number;
  total?: number;
}

/**
 * One step of long work, as docker's JSON message:
 * - a message, `{status, id?}`: a line of its own ("Loaded image: …", "Already exists");
 * - an update, `{status, progressDetail: {}, id}`: the state of one item changed ("Pull complete");
 * - progress, `{status, progressDetail: {current, total}, id?}`: bytes of one item (or of the
 *   whole operation when there is no `id`), to draw as a bar.
 */
export interface ProgressEvent {
  /** What is happening, in docker's words: "Loading layer", "Importing", "Saving", "Verifying". */
  status: string;
  /** Present on updates and progress; a front end keeps one line per `id` only for those. */
  progressDetail?: ProgressDetail;
  /** What the event concerns, usually a 12-character layer or image ID; none for the whole operation. */
  id?: string;
}

/** Hears progress events. Must not throw; it runs inside the operation's data path. */
export type ProgressListener = (event: ProgressEvent) => void;

/** A progress event for `current` of `total` bytes of `id` (no `id`: the whole operation). */
export function progressUpdate(status: string, id: string | undefined, current: number, total?: number): ProgressEvent {
  const progressDetail: ProgressDetail = total === undefined ? { current } : { current, total };
  return id === undefined ? { status, progressDetail } : { status, progressDetail, id };
}

/** An update event: the state of item `id` changed ("Pull complete"), docker's `{status, progressDetail: {}, id}`. */
export function progressStatus(status: string, id: string): ProgressEvent {
  return { status, progressDetail: {}, id };
}

/** A message event: a line of its own, without counts. */
export function progressMessage(status: string, id?: string): ProgressEvent {
  return id === undefined ? { status } : { status, id };
}

/**
 * The event as dockerd writes it in a JSON progress stream (without the `\r\n` that ends each
 * line): keys in docker's order, zero counts omitted as Go's `omitempty` does, strings encoded
 * as Go's json.Marshal encodes them (the one encoder in `go-json.ts`).
 */
export function formatJsonMessage(event: ProgressEvent): string {
  const detail = event.progressDetail;
  return goJsonStruct([
    ["status", goJsonString(event.status)],
    [
      "progressDetail",
      detail &&
        goJsonStruct([
          ["current", detail.current ? String(detail.current) : undefined],
          ["total", detail.total ? String(detail.total) : undefined],
        ]),
    ],
    ["id", event.id ? goJsonString(event.id) : undefined],
  ]);
}

export interface ProgressReaderOptions {
  /** The status of every event ("Loading layer"). */
  status: string;
  /** The item the bytes are (a short layer ID); none: the whole operation. */
  id?: string;
  /** The bytes expected, when known (a file's size). */
  total?: number;
  onProgress?: ProgressListener;
  /** Checked at every chunk: the reader stops with the signal's reason once it is aborted. */
  signal?: AbortSignal;
}

// As moby's progressreader: an event per 1 % of the total or per 512 KiB, whichever is less,
// plus the first and the last; a per-chunk event would be thousands of JSON lines for one large
// layer. moby also caps them at ten a second; not done here, so that the events a stream gives
// depend on its bytes only, not on how fast a disk happened to be (front ends throttle drawing).
const UPDATE_BYTES = 512 * 1024;

/**
 * `source`, passed through unchanged while its bytes are counted and reported as progress
 * events of `options.status` (the first at 0, the last when the source ends). The one counter
 * every operation uses for bytes it reads.
 */
export async function* progressReader<T extends Uint8Array>(source: AsyncIterable<T> | Iterable<T>, options: ProgressReaderOptions): AsyncGenerator<T> {
  const { onProgress, signal, status, id, total } = options;
  if (!onProgress) {
    for await (const chunk of source) {
      signal?.throwIfAborted();
      yield chunk;
    }
    return;
  }
  const every = total !== undefined && total > 0 ? Math.max(1, Math.min(UPDATE_BYTES, Math.floor(total / 100))) : UPDATE_BYTES;
  let current = 0;
  let reported = 0;
  const report = () => {
    reported = current;
    onProgress(progressUpdate(status, id, current, total));
  };
  report();
  for await (const chunk of source) {
    signal?.throwIfAborted();
    current += chunk.byteLength;
    if (current - reported >= every) report();
    yield chunk;
  }
  if (current !== reported) report();
}
