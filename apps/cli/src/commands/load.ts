import { open } from "node:fs/promises";
import { type Command, flag, stringValue } from "../command";
import { writeLines } from "../cli-io";
import { fileError } from "../file-errors";
import { progressRenderer } from "../format/progress";
import { UsageError } from "../usage-error";

/** `store load`: images from a `docker save` archive (docker-archive or OCI layout), file or stdin. */
export const loadCommand: Command = {
  name: "load",
  aliases: ["store image load", "store load"],
  usage: "[OPTIONS]",
  summary: "Load an image from a tar archive or STDIN",
  args: { min: 0, max: 0 },
  options: [
    { name: "input", short: "i", type: "string", help: "Read from tar archive file, instead of STDIN" },
    { name: "quiet", short: "q", type: "boolean", help: "Suppress the load output" },
  ],
  async run(ctx, args) {
    const input = stringValue(args, "input");
    if (input === undefined && ctx.io.stdin.isTTY) {
      throw new UsageError("requested load from stdin, but stdin is empty", "store load");
    }
    // 1 MiB reads: with the default 64 KiB, a 200 MB archive is 3,000+ reads, each a trip
    // through the thread pool and the tar parser's chunk handling.
    // Opened first: a missing file is one line (`open X: no such file or directory`), not a
    // stream's unhandled error event.
    const file = input === undefined ? undefined : await open(input, "r").catch((e: unknown) => Promise.reject(fileError("open", input, e)));
    const source = file ? file.createReadStream({ highWaterMark: 1 << 20 }) : ctx.io.stdin;
    const store = await ctx.store();
    const quiet = flag(args, "quiet");
    const progress = progressRenderer(ctx.io.stderr as NodeJS.WriteStream);
    let result;
    try {
      result = await store.load(source, {
        quiet,
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      });
    } finally {
      progress.done();
      await file?.close().catch(() => undefined); // the stream closes it when read to the end
    }
    // Like `docker load -q`: quiet drops the progress, not the "Loaded image" lines.
    await writeLines(ctx.io.stdout, result.messages);
  },
};
