import { Worker, type TransferListItem } from "node:worker_threads";

/** What a {@link SharedWorkerThread}'s worker sends back: the request's id and anything else. */
export interface WorkerReply {
  id: number;
}

/**
 * One worker thread running `source` (plain CommonJS, so it runs the same from sources, tsup's
 * ESM and CJS builds and the CLI bundle), with requests matched to replies by id. The worker
 * keeps the process alive only while a request is out, so an idle one never holds it open; if
 * it dies, every waiting request gets `failed(error)` and the next {@link run} starts a new one.
 */
export class SharedWorkerThread<Reply extends WorkerReply> {
  readonly #source: string;
  readonly #name: string;
  readonly #failed: (id: number, error: Error) => Reply;
  #worker: Worker | undefined;
  readonly #waiting = new Map<number, (reply: Reply) => void>();
  #nextId = 0;

  constructor(source: string, name: string, failed: (id: number, error: Error) => Reply) {
    this.#source = source;
    this.#name = name;
    this.#failed = failed;
  }

  /** Posts `message` (with an `id` added) and resolves with the worker's reply to it. */
  run(message: Record<string, unknown>, transfer: readonly TransferListItem[]): Promise<Reply> {
    const worker = this.#start();
    const id = this.#nextId++;
    return new Promise((resolve) => {
      this.#waiting.set(id, resolve);
      worker.ref();
      worker.postMessage({ ...message, id }, [...transfer]);
    });
  }

  #start(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(this.#source, { eval: true, name: this.#name });
    worker.unref();
    worker.on("message", (reply: Reply) => {
      const done = this.#waiting.get(reply.id);
      this.#waiting.delete(reply.id);
      if (this.#waiting.size === 0) worker.unref();
      done?.(reply);
    });
    worker.on("error", (error) => this.#failAll(worker, error));
    worker.on("exit", (code) => this.#failAll(worker, new Error(`the ${this.#name} thread exited with code ${code}`)));
    this.#worker = worker;
    return worker;
  }

  #failAll(worker: Worker, error: Error): void {
    if (this.#worker === worker) this.#worker = undefined;
    const waiting = [...this.#waiting];
    this.#waiting.clear();
    for (const [id, done] of waiting) done(this.#failed(id, error));
  }
}
