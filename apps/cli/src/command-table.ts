import type { Command } from "./command";
import { dfCommand } from "./commands/df";
import { historyCommand } from "./commands/history";
import { importCommand } from "./commands/import";
import { imagesCommand } from "./commands/images";
import { imagePruneCommand } from "./commands/image-prune";
import { inspectCommand } from "./commands/inspect";
import { loadCommand } from "./commands/load";
import { loginCommand } from "./commands/login";
import { logoutCommand } from "./commands/logout";
import { mountCommand } from "./commands/mount";
import { pullCommand } from "./commands/pull";
import { pushCommand } from "./commands/push";
import { rmiCommand } from "./commands/rmi";
import { saveCommand } from "./commands/save";
import { tagCommand } from "./commands/tag";
import { unmountCommand } from "./commands/unmount";
import { verifyCommand } from "./commands/verify";
import { versionCommand } from "./commands/version";

/** The top-level commands, by name, in help order. */
export const topLevelCommands: readonly Command[] = [
  dfCommand,
  historyCommand,
  imagesCommand,
  importCommand,
  inspectCommand,
  loadCommand,
  loginCommand,
  logoutCommand,
  mountCommand,
  pullCommand,
  pushCommand,
  rmiCommand,
  saveCommand,
  tagCommand,
  unmountCommand,
  verifyCommand,
  versionCommand,
];

/** Renames a command for its place under `store image` (same flags and behaviour). */
function under(command: Command, name: string): Command {
  return { ...command, name: `image ${name}` };
}

/** `store image <sub>`: docker's management-command spellings of the same commands. */
export const imageSubcommands: ReadonlyMap<string, Command> = new Map([
  ["history", under(historyCommand, "history")],
  ["import", under(importCommand, "import")],
  ["inspect", under(inspectCommand, "inspect")],
  ["load", under(loadCommand, "load")],
  ["ls", under(imagesCommand, "ls")],
  ["list", under(imagesCommand, "ls")],
  ["prune", imagePruneCommand],
  ["pull", under(pullCommand, "pull")],
  ["push", under(pushCommand, "push")],
  ["rm", under(rmiCommand, "rm")],
  ["remove", under(rmiCommand, "rm")],
  ["save", under(saveCommand, "save")],
  ["tag", under(tagCommand, "tag")],
]);
