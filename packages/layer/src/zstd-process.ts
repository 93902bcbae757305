import { spawn } from "node:child_process";
import { LayerError, LayerErrorCode } from "./errors";

/**
 * Decompresses a zstd stream through the system's `zstd -d`, for a process that cannot reserve
 * WebAssembly memory (V8 reserves ~10 GiB of address space per instance, which `ulimit -v` can
 * forbid; the binary then decodes at native speed in a few MiB). Input is written with
 * backpressure; output arrives in the pipe's 64 KiB chunks. `why` is the WebAssembly failure,
 * named when the binary is missing too.
 */
export async function* zstdProcess(stream: AsyncIterable<Uint8Array>, why: Error): AsyncGenerator<Uint8Array> {
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.setEncoding("utf8").on("data", (text: string) => {
    if (stderr.length < 4096) stderr += text;
  });
  const exited = new Promise<{ code: number | null } | Error>((resolve) => {
    child.on("error", resolve);
    child.on("close", (code) => resolve({ code }));
  });
  // zstd stops reading on bad data (EPIPE here): its exit status says why.
  child.stdin.on("error", () => {});
  const writable = () =>
    new Promise<void>((resolve) => {
      const done = () => {
        child.stdin.off("drain", done);
        child.stdin.off("close", done);
        resolve();
      };
      child.stdin.on("drain", done);
      child.stdin.on("close", done);
    });
  let inputError: unknown;
  const feeding = (async () => {
    try {
      for await (const chunk of stream) {
        if (child.stdin.destroyed) return;
        if (!child.stdin.write(chunk)) await writable();
      }
      child.stdin.end();
    } catch (e) {
      inputError = e;
      child.kill();
    }
  })();
  try {
    for await (const chunk of child.stdout) yield chunk as Buffer;
    const end = await exited;
    await feeding;
    if (inputError !== undefined) throw inputError;
    if (end instanceof Error) {
      throw new LayerError(LayerErrorCode.Unsupported, `zstd data: no decoder: ${why.message}, and the zstd command failed to start (${end.message})`, {
        cause: end,
      });
    }
    if (end.code !== 0) {
      // "zstd: /*stdin*\: unsupported format" → "unsupported format"
      const line =
        stderr
          .trim()
          .split("\n")
          .at(-1)
          ?.replace(/^zstd: \/\*stdin\*\\: /, "") ?? "";
      throw new LayerError(LayerErrorCode.InvalidData, `zstd data: ${line || `zstd -d exited with ${end.code}`}`);
    }
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    child.stdin.destroy();
  }
}
