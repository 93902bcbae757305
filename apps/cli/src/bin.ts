import { BROKEN_PIPE_EXIT_CODE, runCli } from "./main";

// The AWS SDK warns on every run under Node 20 that its future releases will need Node 22: news
// for whoever pins the SDK, not for someone listing images. stderr stays for this command's errors.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

// The process's own streams and environment; every exit path goes through runCli's exit code.
// The reader left (`store save | head -c 10`): exit 141, as docker does (Go dies of SIGPIPE), so
// a pipeline with pipefail sees that the output was cut short.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(BROKEN_PIPE_EXIT_CODE);
});
// Ctrl-C or SIGTERM aborts the command, which then removes what it half wrote (a layer being
// extracted, a temp archive). A second signal while that undo runs is told to wait (an impatient
// double Ctrl-C used to exit at once and leave the half-written layer behind); a third exits at
// once, leaving whatever the undo had not removed yet.
const interrupt = new AbortController();
let interrupts = 0;
for (const name of ["SIGINT", "SIGTERM"] as const) {
  process.on(name, () => {
    interrupts++;
    if (interrupts === 1) interrupt.abort(name);
    else if (interrupts === 2) process.stderr.write("store: undoing what was half written; interrupt again to exit at once and leave it\n");
    else process.exit(name === "SIGTERM" ? 143 : 130);
  });
}
const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  env: process.env,
  signal: interrupt.signal,
});
// Exit explicitly: S3 keep-alive agents and FFI handles must not keep a finished command alive.
// stdout to a pipe or file is written synchronously on Linux, so nothing is lost.
process.exit(code);
