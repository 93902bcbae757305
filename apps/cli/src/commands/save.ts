import { type Command, stringValue } from "../command";
import { notYetAvailable } from "../not-available";
import { UsageError } from "../usage-error";

/** `store save`: images to a `docker save` archive (docker-archive, or an OCI layout with --format oci). */
export const saveCommand: Command = {
  name: "save",
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
    throw notYetAvailable("store save", "it waits on @store/archive's save API");
  },
};
