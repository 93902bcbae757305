import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { LayerError, LayerErrorCode } from "./errors";
import { zstdProcess } from "./zstd-process";

/**
 * The C functions of zstd's streaming decoder, as zstddec's WebAssembly build exports them
 * (pointers and `size_t` are 32-bit numbers there).
 */
interface ZstdExports {
  memory: { buffer: ArrayBuffer };
  malloc(size: number): number;
  free(pointer: number): void;
  ZSTD_createDCtx(): number;
  ZSTD_freeDCtx(dctx: number): number;
  ZSTD_decompressStream(dctx: number, output: number, input: number): number;
  ZSTD_DStreamOutSize(): number;
}

/** Options of {@link zstdDecompress}. */
export interface ZstdDecompressOptions {
  /**
   * The most bytes one output chunk holds (default 1 MiB; at least zstd's block size, 128 KiB).
   * With the frame's window (at most 128 MiB, zstd's default limit) it bounds the memory one
   * stream uses, whatever the input expands to.
   */
  chunkSize?: number;
}

const DEFAULT_CHUNK = 1 << 20;
// Compressed bytes copied into the WebAssembly heap at a time: a caller's chunk may be large.
const INPUT_PIECE = 256 << 10;
// ZSTD_inBuffer and ZSTD_outBuffer: { pointer, size_t size, size_t pos }, 4 bytes each in wasm32.
const BUFFER_STRUCT = 12;
// zstd returns errors as (size_t)-code; codes stay below ZSTD_error_maxCode (120).
const MAX_ERROR_CODE = 120;

// zstd_errors.h: the codes a decoder can meet on bad input, in words a user can act on.
const ZSTD_ERRORS: Record<number, string> = {
  10: "unknown frame (not zstd data)",
  12: "unsupported zstd format version",
  14: "unsupported frame parameter",
  16: "the frame needs a window larger than 128 MiB (zstd's default limit)",
  20: "corrupted data",
  22: "checksum mismatch",
  24: "corrupted literals header",
  32: "the frame needs a dictionary",
  44: "corrupted table (tableLog too large)",
  46: "corrupted table (maxSymbolValue too large)",
  64: "out of memory",
};

// The two constructors used, typed here: the compiler's Node types do not declare them.
const Wasm = (
  globalThis as unknown as {
    WebAssembly: { Module: new (bytes: Uint8Array) => object; Instance: new (module: object, imports: object) => { exports: unknown } };
  }
).WebAssembly;

let loaded: ZstdExports | Error | undefined;

/**
 * zstd's WebAssembly decoder, instantiated once per process. zstddec ships it as base64 inside
 * its module and instantiates it through `fetch` when `fetch` exists (Node 20 has it: undici and
 * its own WebAssembly parser load too, and under an address-space limit fail outside any
 * caller's reach); its streaming helper takes a synchronous iterable and never checks zstd's
 * return codes (bad data loops forever). So the module's bytes are taken from the package
 * file (the version is pinned) and driven here: its only import is a growth notice.
 */
function zstdExports(): ZstdExports | Error {
  if (loaded) return loaded;
  try {
    const limit = addressSpaceLimit();
    // Even a failed attempt leaves compiled code and its reservations behind, and V8 then
    // fails its own heap growth: under a limit, the WebAssembly route is not tried at all.
    if (limit !== undefined) throw new Error(`the address space is limited to ${limit >> 20} MiB (ulimit -v) and WebAssembly memory needs ~10 GiB of it`);
    const file = createRequire(fileURLToPath(import.meta.url)).resolve("zstddec/stream");
    const m = /const wasm = "([A-Za-z0-9+/=]+)"/.exec(readFileSync(file, "utf8"));
    if (!m) throw new Error(`no WebAssembly module found in ${file}`);
    const module = new Wasm.Module(Buffer.from(m[1]!, "base64"));
    const instance = new Wasm.Instance(module, { env: { emscripten_notify_memory_growth: () => {} } });
    loaded = instance.exports as unknown as ZstdExports;
  } catch (e) {
    loaded = e as Error;
  }
  return loaded;
}

/** The soft `RLIMIT_AS` of this process in bytes (Linux), undefined when unlimited or unknown. */
function addressSpaceLimit(): number | undefined {
  let limits: string;
  try {
    limits = readFileSync("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
  const soft = /^Max address space\s+(\S+)/m.exec(limits)?.[1];
  return soft && /^\d+$/.test(soft) ? Number(soft) : undefined;
}

function zstdError(code: number): LayerError {
  const what = ZSTD_ERRORS[code] ?? `zstd error ${code}`;
  return new LayerError(LayerErrorCode.InvalidData, `zstd data: ${what}`, { details: { zstdError: code } });
}

/**
 * Decompresses a zstd stream (one or more frames) as it arrives, in chunks of at most
 * `chunkSize` bytes: memory stays bounded by the frame's window and one chunk, never by what
 * the input expands to. Corrupt, truncated or trailing data fails with `ERR_LAYER_INVALID_DATA`.
 * Where WebAssembly memory cannot be had (an address-space limit), the system's `zstd -d` does
 * the same in a child process.
 */
export async function* zstdDecompress(stream: AsyncIterable<Uint8Array>, options: ZstdDecompressOptions = {}): AsyncGenerator<Uint8Array> {
  const exports = zstdExports();
  if (exports instanceof Error) {
    yield* zstdProcess(stream, exports);
    return;
  }
  const z: ZstdExports = exports;
  const chunkSize = Math.max(options.chunkSize ?? DEFAULT_CHUNK, z.ZSTD_DStreamOutSize());
  const dctx = z.ZSTD_createDCtx();
  const structs = z.malloc(2 * BUFFER_STRUCT);
  const input = z.malloc(INPUT_PIECE);
  const output = z.malloc(chunkSize);
  if (!dctx || !structs || !input || !output) {
    release();
    throw zstdError(64);
  }
  const inBuf = structs;
  const outBuf = structs + BUFFER_STRUCT;
  // The heap's views go stale when the memory grows (a frame with a larger window, here or in
  // another stream sharing the instance while this one waited at a yield): refreshed before use.
  let heap = new Uint8Array(z.memory.buffer);
  let view = new DataView(z.memory.buffer);
  const refresh = () => {
    if (heap.buffer !== z.memory.buffer) {
      heap = new Uint8Array(z.memory.buffer);
      view = new DataView(z.memory.buffer);
    }
  };
  let produced = 0; // bytes of the current output chunk
  // zstd's hint: 0 once a frame is complete and flushed; positive while it expects more.
  let pending = 0;
  let sawInput = false;

  function release() {
    if (dctx) z.ZSTD_freeDCtx(dctx);
    for (const p of [structs, input, output]) if (p) z.free(p);
  }

  // One call: decodes what it can from the input buffer into the rest of the output chunk.
  function step(): void {
    refresh();
    view.setUint32(outBuf, output, true);
    view.setUint32(outBuf + 4, chunkSize, true);
    view.setUint32(outBuf + 8, produced, true);
    const ret = z.ZSTD_decompressStream(dctx, outBuf, inBuf) >>> 0;
    refresh();
    if (ret > 0xffffffff - MAX_ERROR_CODE) throw zstdError(0x100000000 - ret);
    pending = ret;
    produced = view.getUint32(outBuf + 8, true);
  }
  const take = (): Uint8Array => {
    refresh();
    const chunk = heap.slice(output, output + produced);
    produced = 0;
    return chunk;
  };

  try {
    for await (const chunk of stream) {
      for (let at = 0; at < chunk.byteLength; at += INPUT_PIECE) {
        const piece = chunk.subarray(at, at + INPUT_PIECE);
        sawInput = true;
        refresh();
        heap.set(piece, input);
        view.setUint32(inBuf, input, true);
        view.setUint32(inBuf + 4, piece.byteLength, true);
        view.setUint32(inBuf + 8, 0, true);
        for (;;) {
          step();
          const full = produced === chunkSize;
          if (full) yield take();
          refresh();
          if (view.getUint32(inBuf + 8, true) < piece.byteLength) continue;
          // Input used up. A full chunk may have left more to flush, unless the frame ended
          // (another call would start reading the next frame's header).
          if (!full || pending === 0) break;
        }
      }
      // Hand on what this input gave before waiting for more: a slow network must not hold
      // back bytes that are ready.
      if (produced > 0) yield take();
    }
    if (!sawInput) throw new LayerError(LayerErrorCode.InvalidData, "zstd data: empty input");
    if (pending !== 0) throw new LayerError(LayerErrorCode.InvalidData, "zstd data: truncated (the stream ends inside a frame)");
  } finally {
    release();
  }
}
