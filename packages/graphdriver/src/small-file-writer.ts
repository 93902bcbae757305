import { SharedWorkerThread } from "./worker-thread";

/** One small regular file to create (the parent directory exists; the path does not). */
export interface SmallFile {
  /** Absolute path of the new file. */
  path: string;
  /** The tar entry's name, for the error message when writing it fails. */
  name: string;
  data: Uint8Array;
  /** Permission bits (setuid, setgid and sticky included). */
  mode: number;
  /** Owner to set with fchown, or undefined to keep the process's. */
  owner?: { uid: number; gid: number } | undefined;
  /** fchmod after writing: chown cleared setuid/setgid, or the umask masked bits. */
  chmod: boolean;
  /** Access and modification times, in seconds since the epoch (fractions kept). */
  atime: number;
  mtime: number;
}

/** Turns a failure into the error thrown to the caller (naming the tar entry). */
export type DescribeFailure = (error: unknown, name: string) => Error;

/**
 * Creates small files from a worker thread, many per message, with synchronous system calls.
 *
 * Why: a small file is open, write, futimes and close. Sent one by one through libuv's thread
 * pool that is four round trips, a dozen futex calls and four promises per file, and the pool's
 * threads compete with the main thread for the CPU; measured on a 13,000-file layer, the main
 * thread spent more time handing out those calls than parsing and hashing the tar. Here the main
 * thread copies each body into a batch buffer, sends it (transferred, not copied) once per 64
 * files or 64 KiB, and goes on parsing while the worker does the calls in a tight loop on the
 * other core.
 *
 * One worker serves every writer in the process; it is started on first use and does not keep
 * the process alive while idle. Files of one writer are written in the order added, and
 * {@link drain} resolves once all of them are on disk (or throws the first failure).
 */
export class SmallFileWriter {
  readonly #describe: DescribeFailure;
  #batch: Batch | undefined;
  readonly #inFlight = new Set<Promise<void>>();
  #failure: Error | undefined;

  constructor(describe: DescribeFailure) {
    this.#describe = describe;
  }

  /** Queues a file; throws the first failure of an earlier batch, if any. */
  async add(file: SmallFile): Promise<void> {
    if (this.#failure) throw this.#failure;
    let batch = this.#batch;
    if (batch && !batch.fits(file.data.length)) {
      await this.#send();
      batch = undefined;
    }
    batch ??= this.#batch = new Batch(Math.max(BATCH_BYTES, file.data.length));
    batch.add(file);
    if (batch.count >= BATCH_FILES) await this.#send();
  }

  /** Waits until every file added so far is written; throws the first failure. */
  async drain(): Promise<void> {
    if (this.#batch) await this.#send();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    if (this.#failure) throw this.#failure;
  }

  /** Waits for every batch sent, ignoring failures (on the way out of an error). */
  async settle(): Promise<void> {
    this.#batch = undefined;
    await Promise.allSettled([...this.#inFlight]);
  }

  async #send(): Promise<void> {
    const batch = this.#batch!;
    this.#batch = undefined;
    // Bounded memory: a writer never has more than a few batches waiting for the worker.
    while (this.#inFlight.size >= MAX_IN_FLIGHT) await Promise.race(this.#inFlight);
    const p: Promise<void> = runBatch(batch)
      .then((failure) => {
        if (failure && !this.#failure) this.#failure = this.#describe(failure.error, batch.names[failure.index]!);
      })
      .finally(() => this.#inFlight.delete(p));
    this.#inFlight.add(p);
  }
}

const BATCH_FILES = 64;
const BATCH_BYTES = 64 * 1024;
const MAX_IN_FLIGHT = 4;
/** Per file in a batch's metadata: offset, length, mode, uid, gid, flags, atime, mtime. */
const FIELDS = 8;
const FLAG_CHOWN = 1;
const FLAG_CHMOD = 2;

/** The files of one message: their bodies back to back in one buffer, numbers in another. */
class Batch {
  readonly bytes: Uint8Array;
  readonly paths: string[] = [];
  readonly names: string[] = [];
  readonly meta = new Float64Array(BATCH_FILES * FIELDS);
  used = 0;

  constructor(capacity: number) {
    this.bytes = new Uint8Array(capacity);
  }

  get count(): number {
    return this.paths.length;
  }

  fits(length: number): boolean {
    return this.used + length <= this.bytes.length;
  }

  add(file: SmallFile): void {
    const m = this.paths.length * FIELDS;
    this.bytes.set(file.data, this.used);
    this.meta[m] = this.used;
    this.meta[m + 1] = file.data.length;
    this.meta[m + 2] = file.mode;
    this.meta[m + 3] = file.owner?.uid ?? -1;
    this.meta[m + 4] = file.owner?.gid ?? -1;
    this.meta[m + 5] = (file.owner ? FLAG_CHOWN : 0) | (file.chmod ? FLAG_CHMOD : 0);
    this.meta[m + 6] = file.atime;
    this.meta[m + 7] = file.mtime;
    this.used += file.data.length;
    this.paths.push(file.path);
    this.names.push(file.name);
  }
}

interface BatchFailure {
  /** Index in the batch of the file that failed; the files after it were not written. */
  index: number;
  error: Error;
}

interface WriteReply {
  id: number;
  failedAt?: number;
  message?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

async function runBatch(batch: Batch): Promise<BatchFailure | undefined> {
  const count = batch.count;
  const meta = batch.meta.slice(0, count * FIELDS);
  const bytes = batch.bytes.buffer as ArrayBuffer;
  const reply = await writerThread.run({ bytes, paths: batch.paths, meta }, [bytes, meta.buffer]);
  if (reply.failedAt === undefined) return undefined;
  const error = Object.assign(new Error(reply.message ?? "write failed"), {
    code: reply.code,
    errno: reply.errno,
    syscall: reply.syscall,
    path: reply.path,
  });
  return { index: Math.min(reply.failedAt, count - 1), error };
}

// Plain CommonJS so it runs the same from sources, tsup's ESM and CJS builds and the CLI bundle.
// O_EXCL|O_NOFOLLOW: never follows a symlink and never reuses a file that appeared since.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const FLAGS = fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_NOFOLLOW;
parentPort.on("message", ({ id, bytes, paths, meta }) => {
  const data = new Uint8Array(bytes);
  let i = 0;
  try {
    for (; i < paths.length; i++) {
      const m = i * ${FIELDS};
      const offset = meta[m], length = meta[m + 1], mode = meta[m + 2], flags = meta[m + 5];
      const fd = fs.openSync(paths[i], FLAGS, mode & 0o777);
      try {
        for (let done = 0; done < length; ) done += fs.writeSync(fd, data, offset + done, length - done);
        if (flags & ${FLAG_CHOWN}) fs.fchownSync(fd, meta[m + 3], meta[m + 4]);
        if (flags & ${FLAG_CHMOD}) fs.fchmodSync(fd, mode);
        fs.futimesSync(fd, meta[m + 6], meta[m + 7]);
      } finally {
        fs.closeSync(fd);
      }
    }
    parentPort.postMessage({ id });
  } catch (e) {
    parentPort.postMessage({ id, failedAt: i, message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path });
  }
});
`;

/** The process's one writer thread (started on first use). */
const writerThread = new SharedWorkerThread<WriteReply>(WORKER_SOURCE, "store small-file writer", (id, error) => ({
  id,
  failedAt: 0,
  message: error.message,
}));
