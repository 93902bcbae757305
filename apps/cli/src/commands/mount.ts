import { type Command, stringValue } from "../command";
import { writeLines } from "../cli-io";
import { formatTable } from "../format/table";
import { truncateId } from "@store/image";

/**
 * `store mount IMAGE`: a read-write layer over the image's top layer (a container's layer, as
 * dockerd makes them), mounted with overlay; prints the merged directory. The mount outlives
 * the command; `store unmount NAME` ends it and removes the layer. Without IMAGE, lists mounts.
 */
export const mountCommand: Command = {
  name: "mount",
  usage: "[OPTIONS] [IMAGE]",
  summary: "Mount a writable layer over an image and print its directory",
  args: { min: 0, max: 1 },
  options: [{ name: "name", type: "string", help: "Name of the read-write layer (default: a random ID)" }],
  async run(ctx, args) {
    const store = await ctx.store();
    const image = args.positionals[0];
    if (image === undefined) {
      const rows = (await store.mounts()).map((m) => [m.name, m.parent ? truncateId(m.parent.toString()) : "<none>", m.merged]);
      await writeLines(ctx.io.stdout, [formatTable(["NAME", "LAYER ID", "MERGED"], rows)]);
      return;
    }
    const name = stringValue(args, "name");
    const { merged, name: made } = await store.mount(image, name === undefined ? {} : { name });
    await writeLines(ctx.io.stdout, [merged]);
    await writeLines(ctx.io.stderr, [`mounted ${image} as ${made}; 'store unmount ${made}' removes it`]);
  },
};
