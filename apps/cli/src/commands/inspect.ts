import type { ImageInspect } from "@store/image";
import { type Command, stringValue } from "../command";
import { write } from "../cli-io";
import { compileTemplate } from "../format/go-template";
import { UsageError } from "../usage-error";

/**
 * The image as dockerd's API writes it and `docker inspect` indents it (four spaces): no HTML
 * escaping (moby's WriteJSON turns it off; Go still escapes U+2028/2029). @store/image gives the
 * fields in dockerd's order already.
 */
export function inspectJson(images: readonly ImageInspect[]): string {
  return JSON.stringify(images, null, 4)
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
}

/** `store inspect`: the JSON array of `docker image inspect`, or a template per image. */
export const inspectCommand: Command = {
  name: "inspect",
  readOnly: true,
  aliases: ["store image inspect", "store inspect"],
  usage: "[OPTIONS] IMAGE [IMAGE...]",
  summary: "Display detailed information on one or more images",
  args: { min: 1 },
  options: [
    {
      name: "format",
      short: "f",
      type: "string",
      help: "Format output using a custom template:\n'json':             Print in JSON format\n'TEMPLATE':         Print output using the given Go template",
    },
    { name: "type", type: "string", help: 'Only "image" is known to this store', defaultText: '"image"' },
  ],
  async run(ctx, args) {
    const type = stringValue(args, "type");
    if (type !== undefined && type !== "image")
      throw new UsageError(`"${type}" is not a valid value for --type: this store holds images only`, "store inspect");
    const format = stringValue(args, "format");
    const template = format && format !== "json" ? compileTemplate(format, { nilAs: inspectNil }) : undefined;
    const store = await ctx.store();
    const found: ImageInspect[] = [];
    const errors: string[] = [];
    for (const name of args.positionals) {
      try {
        found.push(await store.inspect(name));
      } catch (e) {
        errors.push((e as Error).message);
      }
    }
    if (template) {
      for (const v of found) await write(ctx.io.stdout, `${template(v)}\n`);
    } else {
      await write(ctx.io.stdout, `${found.length === 0 ? "[]" : inspectJson(found)}\n`);
    }
    for (const e of errors) await write(ctx.io.stderr, `store: ${e}\n`);
    return errors.length > 0 ? 1 : 0;
  },
};

// Zero values of docker's ImageInspect (and its container.Config) fields that are null or omitted
// in the JSON, as Go's templates print them: nil slices `[]`, nil maps `map[]`, nil pointers
// `<nil>`, omitted strings and bools `` and `false`.
const zeroValues = new Map<string, string>([
  ...["RepoTags", "RepoDigests", "RootFS.Layers", "Env", "Cmd", "Entrypoint", "OnBuild", "Shell"].map((k) => [k, "[]"] as const),
  ...["GraphDriver.Data", "ExposedPorts", "Volumes", "Labels"].map((k) => [k, "map[]"] as const),
  ...["Healthcheck", "StopTimeout", "Metadata.LastTagTime"].map((k) => [k, "<nil>"] as const),
  ...["MacAddress", "StopSignal"].map((k) => [k, ""] as const),
  ...["ArgsEscaped", "NetworkDisabled"].map((k) => [k, "false"] as const),
]);

function inspectNil(path: readonly string[]): string | undefined {
  // Config and ContainerConfig are both container.Config: name their fields without the prefix.
  const inConfig = path.length === 2 && (path[0] === "Config" || path[0] === "ContainerConfig");
  return zeroValues.get(inConfig ? path[1]! : path.join("."));
}
