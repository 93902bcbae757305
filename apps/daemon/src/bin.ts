import { runStored } from "./main";

// The AWS SDK warns on every run under Node 20 that its future releases will need Node 22.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

const run = await runStored(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
if (run.daemon === undefined) process.exit(run.code);

// SIGTERM or SIGINT: graceful shutdown (requests aborted and undone, sockets and pidfile
// removed, the root's lock released). A second signal while that runs exits at once.
const { daemon, logger } = run;
// A bug must still leave one structured line saying what happened before the process ends.
process.on("uncaughtException", (e) => {
  logger.log("fatal", "uncaught exception", { error: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  process.exit(1);
});
let signals = 0;
for (const name of ["SIGINT", "SIGTERM"] as const) {
  process.on(name, () => {
    signals++;
    if (signals > 1) {
      logger.log("warn", "second signal: exiting without waiting for requests to undo their work", { signal: name });
      process.exit(name === "SIGTERM" ? 143 : 130);
    }
    logger.log("info", "shutting down", { signal: name });
    daemon.stop().then(
      () => process.exit(0),
      (e: unknown) => {
        logger.log("error", "shutdown failed", { error: String(e) });
        process.exit(1);
      },
    );
  });
}
