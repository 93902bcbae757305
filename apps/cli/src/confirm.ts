import { createInterface } from "node:readline";
import { CliError, CliErrorCode } from "./errors";
import { type CliIO, write } from "./cli-io";

/**
 * Asks a yes/no question as docker does ("[y/N]", only y or yes agree). Without a terminal on
 * stdin nobody can answer: refuse rather than act unasked or hang on a pipe.
 */
export async function confirm(io: CliIO, question: string, forceFlag: string): Promise<boolean> {
  if (!io.stdin.isTTY) {
    throw new CliError(CliErrorCode.NotConfirmed, `${question.split("\n")[0]} Refusing without a terminal to confirm on; pass ${forceFlag} to go ahead`);
  }
  await write(io.stdout, `${question} [y/N] `);
  const rl = createInterface({ input: io.stdin, terminal: false });
  try {
    const answer: string = await new Promise((resolve, reject) => {
      rl.once("line", resolve);
      rl.once("close", () => resolve(""));
      // Ctrl-C at the prompt answers nothing: the command stops (exit 130), as docker's does.
      io.signal?.addEventListener("abort", () => reject(io.signal!.reason), { once: true });
      if (io.signal?.aborted) reject(io.signal.reason);
    });
    return /^(y|yes)$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
