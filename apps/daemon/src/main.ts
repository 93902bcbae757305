import { isStoreError } from "@store/errors";
import { type Daemon, startDaemon } from "./daemon";
import { daemonHelp, parseDaemonArgs } from "./daemon-options";
import { USAGE_EXIT_CODE } from "./errors";
import { type Logger, createLogger } from "./logger";
import { STORED_VERSION } from "./version";

/** The process around the daemon: its streams and environment. */
export interface DaemonIO {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: Readonly<Record<string, string | undefined>>;
}

/** What `runStored` resolved to: an exit code now (help, version, an error), or a running daemon. */
export type StoredRun = { code: number; daemon?: undefined } | { code?: undefined; daemon: Daemon; logger: Logger };

/**
 * Parses `stored`'s command line and starts the daemon. Help and the version print and give exit
 * code 0; a wrong command line 125; a daemon that cannot start (root in use, socket taken) 1,
 * with one line on stderr.
 */
export async function runStored(argv: readonly string[], io: DaemonIO): Promise<StoredRun> {
  try {
    const command = await parseDaemonArgs(argv, io.env);
    if (command.kind === "help") {
      io.stdout.write(daemonHelp());
      return { code: 0 };
    }
    if (command.kind === "version") {
      io.stdout.write(`stored version ${STORED_VERSION}\n`);
      return { code: 0 };
    }
    const logger = createLogger(command.options.logLevel, io.stderr);
    const daemon = await startDaemon(command.options, { env: io.env, logger });
    return { daemon, logger };
  } catch (e) {
    io.stderr.write(`stored: ${(e as Error).message}\n`);
    return { code: isStoreError(e, ["ERR_DAEMON_INVALID_ARGS", "ERR_DAEMON_INVALID_CONFIG"]) ? USAGE_EXIT_CODE : 1 };
  }
}
