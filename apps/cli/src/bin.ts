import { runCli } from "./main";

// The process's own streams and environment; every exit path goes through runCli's exit code.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
});
const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env });
// Exit explicitly: S3 keep-alive agents and FFI handles must not keep a finished command alive.
// stdout to a pipe or file is written synchronously on Linux, so nothing is lost.
process.exit(code);
