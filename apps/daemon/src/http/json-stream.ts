import type { ServerResponse } from "node:http";
import { type ProgressEvent, formatJsonMessage, goJsonString, goJsonStruct } from "@store/internal";
import { errorStatus } from "./error-status";
import { writeError } from "./json-response";

/**
 * A response of docker's JSON messages (pull, push, load, import): one object per line, each
 * ended by `\r\n` as dockerd's streamformatter does. Headers go out with the first message, so an
 * error before any output is still a plain HTTP error (dockerd's `if !output.Flushed()`); after
 * it, the error is a message in the stream (`errorDetail`) and the status stays 200.
 */
export class JsonStream {
  readonly #res: ServerResponse;
  #started = false;

  constructor(res: ServerResponse) {
    this.#res = res;
  }

  /** Whether the 200 and a first message went out. */
  get started(): boolean {
    return this.#started;
  }

  /** Sends the headers now (load answers 200 whatever happens, as dockerd). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#res.writeHead(200, { "Content-Type": "application/json" });
    // Each line must reach the client as it is made: a progress bar is no use at the end.
    this.#res.socket?.setNoDelay(true);
  }

  #line(json: string): void {
    this.start();
    if (!this.#res.writableEnded && !this.#res.destroyed) this.#res.write(`${json}\r\n`);
  }

  /** A progress event as dockerd's JSON message. */
  progress = (event: ProgressEvent): void => {
    this.#line(formatJsonMessage(event));
  };

  /** `{"status": text}`: a line of its own ("sha256:…" after an import). */
  status(text: string): void {
    this.#line(goJsonStruct([["status", goJsonString(text)]]));
  }

  /** `{"stream": text}`: output lines ("Loaded image: busybox:latest\n"). */
  stream(text: string): void {
    this.#line(goJsonStruct([["stream", goJsonString(text)]]));
  }

  /** `{"progressDetail":{},"aux":…}`: a result for programs (push's tag, digest and size). */
  aux(json: string): void {
    this.#line(
      goJsonStruct([
        ["progressDetail", "{}"],
        ["aux", json],
      ]),
    );
  }

  /**
   * Ends the response with `error`: before any output a plain HTTP error with its status,
   * after it `{"errorDetail":{"message":…},"error":…}` (moby's FormatError).
   */
  fail(error: unknown): void {
    const { status, message } = errorStatus(error);
    if (this.#res.writableEnded || this.#res.destroyed) return;
    if (!this.#started) {
      writeError(this.#res, status, message);
      return;
    }
    const text = goJsonString(message);
    this.#line(
      goJsonStruct([
        ["errorDetail", goJsonStruct([["message", text]])],
        ["error", text],
      ]),
    );
    this.#res.end();
  }

  end(): void {
    this.start();
    if (!this.#res.writableEnded) this.#res.end();
  }
}
