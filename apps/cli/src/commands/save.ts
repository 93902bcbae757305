import { once } from "node:events";
import { open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import type { Writable } from "node:stream";
import { writeBatched } from "@store/archive";
import { fileError } from "../file-errors";
import { type Command, stringValue } from "../command";
import { progressRenderer } from "../format/progress";
import { UsageError } from "../usage-error";

/** Copies chunks into `out`, waiting when it is full, so a huge archive never sits in memory. */
async function pump(chunks: AsyncIterable<Uint8Array>, out: Writable): Promise<void> {
  for await (const chunk of chunks) {
    if (!out.write(chunk)) await once(out, "drain");
  }
}

/** `store save`: images to a `docker save` archive (docker-archive, or an OCI layout with --format oci). */
export const saveCommand: Command = {
  name: "save",
  readOnly: true,
  aliases: ["store image save", "store save"],
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Save one or more images to a tar archive (streamed to STDOUT by default)",
  args: { min: 1 },
  options: [
    { name: "format", type: "string", help: 'Archive format: "docker" (docker-archive) or "oci" (OCI image layout)', defaultText: '"docker"' },
    { name: "output", short: "o", type: "string", help: "Write to a file, instead of STDOUT" },
  ],
  async run(ctx, args) {
    const format = stringValue(args, "format") ?? "docker";
    if (format !== "docker" && format !== "oci") throw new UsageError(`invalid --format "${format}": must be docker or oci`, "store save");
    const output = stringValue(args, "output");
    if (output === undefined && ctx.io.stdout.isTTY) {
      throw new UsageError("cowardly refusing to save to a terminal. Use the -o flag or redirect", "store save");
    }
    const store = await ctx.store();
    // The save resolves every name and holds the layers before its first chunk, so a bad
    // name fails here with nothing written.
    const progress = progressRenderer(ctx.io.stderr as NodeJS.WriteStream);
    const chunks = store.save(args.positionals, {
      format,
      ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    });
    try {
      if (output === undefined) {
        await pump(chunks, ctx.io.stdout);
        return;
      }
      // Like docker: write beside the target and rename, so a failed save never leaves a
      // truncated archive under the requested name.
      const temp = join(dirname(output), `.${basename(output)}.store-save-${process.pid}`);
      // An error names the file asked for, not the temp file beside it.
      const file = await open(temp, "w", 0o644).catch((e: unknown) => Promise.reject(fileError("open", output, e)));
      try {
        // Batched writev: an archive is many small pieces, one awaited write each was slow.
        await writeBatched(file, chunks);
        await file.close();
        await rename(temp, output);
      } catch (e) {
        await file.close().catch(() => undefined);
        await rm(temp, { force: true });
        throw e;
      }
    } finally {
      progress.done();
    }
  },
};
