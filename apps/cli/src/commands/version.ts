import { type Command, stringValue } from "../command";
import { write } from "../cli-io";
import { goJson } from "../format/go-format";
import { hostPlatform } from "@store/image";
import { STORE_VERSION } from "../version";

/** `store version`: the CLI's version and platform, like the client part of `docker version`. */
export const versionCommand: Command = {
  name: "version",
  usage: "[OPTIONS]",
  summary: "Show the store version information",
  args: { min: 0, max: 0 },
  options: [{ name: "format", short: "f", type: "string", help: "Format output: 'json'" }],
  async run(ctx, args) {
    const p = hostPlatform();
    const info = { Version: STORE_VERSION, NodeVersion: process.version, Os: p.os, Arch: p.architecture };
    if (stringValue(args, "format") === "json") {
      await write(ctx.io.stdout, `${goJson(info)}\n`);
      return;
    }
    await write(
      ctx.io.stdout,
      `Client: store\n Version:       ${info.Version}\n Node version:  ${info.NodeVersion}\n OS/Arch:       ${info.Os}/${info.Arch}\n`,
    );
  },
};
