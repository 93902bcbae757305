import { open } from "node:fs/promises";
import { applyChanges } from "@store/image";
import { parseNormalizedNamed, tagNameOnly } from "@store/reference";
import { type Command, listValue, stringValue } from "../command";
import { write } from "../cli-io";
import { fileError } from "../file-errors";
import { progressRenderer } from "../format/progress";
import { UsageError } from "../usage-error";

/**
 * `store import`: a tarball (plain, gzip or zstd) becomes a one-layer image with the config
 * dockerd's import writes; prints the new image ID.
 */
export const importCommand: Command = {
  name: "import",
  aliases: ["store image import", "store import"],
  usage: "[OPTIONS] file|- [REPOSITORY[:TAG]]",
  summary: "Import the contents from a tarball to create a filesystem image",
  args: { min: 1, max: 2 },
  options: [
    { name: "change", short: "c", type: "string", multiple: true, placeholder: "list", help: "Apply Dockerfile instruction to the created image" },
    { name: "message", short: "m", type: "string", help: "Set commit message for imported image" },
  ],
  async run(ctx, args) {
    const [source, target] = args.positionals as [string, string | undefined];
    if (/^https?:\/\//.test(source)) throw new UsageError(`importing from a URL is not supported: download ${source} and import the file`, "store import");
    // Check the name before any work, so a bad one leaves no orphan image behind.
    const ref = target === undefined ? undefined : tagNameOnly(parseNormalizedNamed(target));
    if (ref?.isCanonical) throw new UsageError(`refusing to create a tag with a digest reference: ${target}`, "store import");
    const message = stringValue(args, "message");
    const changes = listValue(args, "change");
    applyChanges({}, changes); // a bad --change is an error before any file is opened

    // Opened first: a missing or unreadable file is one line, not a stream's unhandled error.
    const file = source === "-" ? undefined : await open(source, "r").catch((e: unknown) => Promise.reject(fileError("open", source, e)));
    const total = file ? (await file.stat()).size : undefined;
    const input = file ? file.createReadStream() : ctx.io.stdin;
    const store = await ctx.store();
    const progress = progressRenderer(ctx.io.stderr as NodeJS.WriteStream);
    let id;
    try {
      ({ id } = await store.import(input, {
        ...(ref ? { tag: ref } : {}),
        ...(message !== undefined ? { message } : {}),
        changes,
        ...(total !== undefined ? { total } : {}),
        ...(progress.onProgress ? { onProgress: progress.onProgress } : {}),
        ...(ctx.signal ? { signal: ctx.signal } : {}),
      }));
    } finally {
      progress.done();
      await file?.close().catch(() => undefined); // the stream closes it when read to the end
    }
    await write(ctx.io.stdout, `${id}\n`);
  },
};
