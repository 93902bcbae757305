import { SharedWorkerThread } from "./worker-thread";

/** A piece of a chunk: bytes as they are, or a whole file that must have exactly `size` bytes. */
export type ChunkPart = Uint8Array | { path: string; size: number };

/** What {@link readChunk} gives: the chunk, or which file could not be read whole and why. */
export type ChunkResult =
  | { ok: true; data: Uint8Array }
  /** `size`: the file is shorter or longer than `size`; `error`: open or read failed (e.g. ENOENT, ELOOP for a symlink, not a regular file). */
  | { ok: false; index: number; reason: "size" | "error"; error: Error };

/**
 * Builds one chunk of bytes from literal pieces and whole files, in order, on a worker thread:
 * what rebuilding a layer's tar from tar-split does for its many small files (a header, the
 * file's bytes, padding, the next header ...). Files are opened with O_NOFOLLOW and O_NONBLOCK
 * (a planted FIFO or device never blocks) and, where /proc/self/fd exists, refused unless the
 * opened file's own path is the path given (a symlink on the way is refused; callers pass
 * canonical paths); then read with synchronous calls in a tight loop, and checked to hold
 * exactly the bytes expected, a file that does not being refused as not a regular file when
 * fstat says so; the chunk comes back as one transferred buffer, ready to hash and write.
 *
 * Why a thread: a small file is open, read, read (to see the end) and close. On the calling
 * thread that is four blocking calls per file, which on a cold page cache each wait on the disk;
 * through libuv's pool it is four round trips and promises per file (measured: slower than the
 * synchronous reads it replaced). One message per ~1 MiB of small files keeps the event loop
 * free and costs the caller nothing but the hashing.
 *
 * One worker serves the process; it is started on first use and does not keep the process
 * alive while idle. Requests are served in the order made.
 */
export async function readChunk(parts: readonly ChunkPart[]): Promise<ChunkResult> {
  let total = 0;
  for (const part of parts) total += part instanceof Uint8Array ? part.byteLength : part.size;
  // The literal bytes are copied into place here and the buffer is transferred, not cloned: a
  // tar-split payload is a view into an 8 KiB pool slab, which postMessage would copy whole.
  const out = new Uint8Array(total);
  const paths: string[] = [];
  const files = new Float64Array(parts.length * 3);
  let at = 0;
  let n = 0;
  for (let i = 0; i < parts.length; i++) {
    const part = parts[i]!;
    if (part instanceof Uint8Array) {
      out.set(part, at);
      at += part.byteLength;
    } else {
      paths.push(part.path);
      files[n * 3] = i;
      files[n * 3 + 1] = at;
      files[n * 3 + 2] = part.size;
      n++;
      at += part.size;
    }
  }
  const bytes = out.buffer;
  const reply = await readerThread.run({ bytes, paths, files }, [bytes, files.buffer]);
  if (reply.failedAt === undefined) return { ok: true, data: new Uint8Array(reply.bytes!) };
  const error = Object.assign(new Error(reply.message ?? "read failed"), {
    code: reply.code,
    errno: reply.errno,
    syscall: reply.syscall,
    path: reply.path,
  });
  return { ok: false, index: reply.failedAt, reason: reply.short ? "size" : "error", error };
}

interface ReadReply {
  id: number;
  bytes?: ArrayBuffer;
  failedAt?: number;
  /** The file does not have the size asked for. */
  short?: boolean;
  message?: string;
  code?: string;
  errno?: number;
  syscall?: string;
  path?: string;
}

// Plain CommonJS so it runs the same from sources, tsup's ESM and CJS builds and the CLI bundle.
const WORKER_SOURCE = `
const { parentPort } = require("node:worker_threads");
const fs = require("node:fs");
const FLAGS = fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK | fs.constants.O_NOCTTY;
const probe = new Uint8Array(1);
let procFd;
try { fs.readlinkSync("/proc/self/fd/0"); procFd = true; } catch { procFd = false; }
const refuse = (message, code) => Object.assign(new Error(message), { code });
parentPort.on("message", ({ id, bytes, paths, files }) => {
  const out = new Uint8Array(bytes);
  let i = 0;
  try {
    for (; i < paths.length; i++) {
      const at = files[i * 3 + 1], size = files[i * 3 + 2];
      const fd = fs.openSync(paths[i], FLAGS);
      // Not a regular file: said so rather than as a short read or EAGAIN.
      const notRegular = () => !fs.fstatSync(fd).isFile();
      try {
        if (procFd) {
          const opened = fs.readlinkSync("/proc/self/fd/" + fd);
          if (opened !== paths[i]) throw refuse("it resolves to " + JSON.stringify(opened) + " through a symlink", "ESYMLINK");
        }
        // No fstat before reading: with O_NONBLOCK a FIFO or device never blocks, and one that is
        // not exactly the recorded bytes fails the size check below, where its type is looked at.
        let done = 0;
        try {
          while (done < size) {
            const n = fs.readSync(fd, out, at + done, size - done, null);
            if (n === 0) break;
            done += n;
          }
        } catch (e) {
          if (notRegular()) throw refuse("it is not a regular file", "EFTYPE");
          throw e;
        }
        let longer;
        try {
          longer = fs.readSync(fd, probe, 0, 1, null) !== 0;
        } catch {
          longer = true;
        }
        if (done !== size || longer) {
          if (notRegular()) throw refuse("it is not a regular file", "EFTYPE");
          parentPort.postMessage({ id, failedAt: files[i * 3], short: true, message: "the file does not have the recorded " + size + " bytes" });
          return;
        }
      } finally {
        fs.closeSync(fd);
      }
    }
    parentPort.postMessage({ id, bytes }, [bytes]);
  } catch (e) {
    parentPort.postMessage({ id, failedAt: files[i * 3], message: e.message, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path });
  }
});
`;

/** The process's one reader thread (started on first use). */
const readerThread = new SharedWorkerThread<ReadReply>(WORKER_SOURCE, "store chunk reader", (id, error) => ({
  id,
  failedAt: 0,
  message: error.message,
}));
