import { createInterface } from "node:readline";
import { join } from "node:path";
import { RegistryClient, authConfigKey, storeCredentials } from "@store/registry";
import { type Command, flag, stringValue } from "../command";
import { type CliIO, write, writeLines } from "../cli-io";
import { UsageError } from "../usage-error";

/** Reads stdin to its end (the password of `--password-stdin`), without its trailing newline, as docker does. */
async function readAll(io: CliIO): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of io.stdin) chunks.push(Buffer.from(chunk as Uint8Array));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

/** One line from a terminal; `hidden` keeps the typed characters off the screen (a password). */
function prompt(io: CliIO, question: string, hidden: boolean): Promise<string> {
  return new Promise((resolve) => {
    const rl = createInterface({ input: io.stdin, output: io.stdout, terminal: true });
    if (hidden) {
      // readline echoes through _writeToOutput; only the question itself is let through.
      (rl as unknown as { _writeToOutput: (s: string) => void })._writeToOutput = (s: string) => {
        if (s.startsWith(question)) io.stdout.write(question);
      };
    }
    rl.question(question, (answer) => {
      rl.close();
      if (hidden) io.stdout.write("\n");
      resolve(answer);
    });
  });
}

/** `store login`: checks credentials with the registry and keeps them where docker keeps them. */
export const loginCommand: Command = {
  name: "login",
  aliases: ["store login"],
  usage: "[OPTIONS] [SERVER]",
  summary: "Log in to a registry",
  args: { min: 0, max: 1 },
  options: [
    { name: "password", short: "p", type: "string", placeholder: "string", help: "Password" },
    { name: "password-stdin", type: "boolean", help: "Take the password from stdin" },
    { name: "username", short: "u", type: "string", placeholder: "string", help: "Username" },
  ],
  async run(ctx, args) {
    const { io } = ctx;
    const server = args.positionals[0] ?? "docker.io";
    let username = stringValue(args, "username");
    let password = stringValue(args, "password");
    if (flag(args, "password-stdin")) {
      if (password !== undefined) throw new UsageError("--password and --password-stdin are mutually exclusive", "store login");
      if (username === undefined) throw new UsageError("Must provide --username with --password-stdin", "store login");
      password = await readAll(io);
    } else if (password !== undefined) {
      await write(io.stderr, "WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n");
    }
    if (username === undefined || password === undefined) {
      if (!io.stdin.isTTY) throw new UsageError("Cannot perform an interactive login from a non TTY device", "store login");
      username ??= (await prompt(io, "Username: ", false)).trim();
      password ??= await prompt(io, "Password: ", true);
    }
    if (username === "" || password === "") throw new UsageError("Username and password are required", "store login");
    const options = ctx.registryOptions();
    const client = new RegistryClient(options);
    try {
      const result = await client.login(server, { username, password }, ctx.signal ? { signal: ctx.signal } : {});
      await storeCredentials(
        authConfigKey(server),
        { username, password, ...(result.identityToken ? { identityToken: result.identityToken } : {}) },
        options.configDir ? { configDir: options.configDir } : {},
      );
      if (options.configDir) {
        await writeLines(io.stderr, [
          `WARNING! Your password will be stored unencrypted in ${join(options.configDir, "config.json")}.`,
          "Configure a credential helper to remove this warning. See",
          "https://docs.docker.com/engine/reference/commandline/login/#credentials-store",
          "",
        ]);
      }
      await writeLines(io.stdout, [result.status]);
    } finally {
      client.close();
    }
  },
};
