import { type Command, flag, stringValue } from "../command";
import { notYetAvailable } from "../not-available";
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
    void flag(args, "quiet");
    throw notYetAvailable("store load", "it waits on @store/archive's load API");
  },
};
