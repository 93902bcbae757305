import { authConfigKey, eraseCredentials } from "@store/registry";
import type { Command } from "../command";
import { writeLines } from "../cli-io";

/** `store logout`: forgets the credentials `login` kept for a registry (Docker Hub by default). */
export const logoutCommand: Command = {
  name: "logout",
  aliases: ["store logout"],
  usage: "[SERVER]",
  summary: "Log out from a registry",
  args: { min: 0, max: 1 },
  options: [],
  async run(ctx, args) {
    const key = authConfigKey(args.positionals[0] ?? "docker.io");
    const { configDir } = ctx.registryOptions();
    const removed = await eraseCredentials(key, configDir ? { configDir } : {});
    await writeLines(ctx.io.stdout, [removed ? `Removing login credentials for ${key}` : `Not logged in to ${key}`]);
  },
};
