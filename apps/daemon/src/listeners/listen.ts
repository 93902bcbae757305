import type { Server } from "node:net";

/** Listens as `listen(...args)` would, resolving once listening (or rejecting with the error). */
export function listen(server: Server, ...args: [port: number, host: string] | [handle: { fd: number }]): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (args.length === 2) server.listen(args[0], args[1], done);
    else server.listen(args[0], done);
  });
}

/** The port a TCP server is bound to (the one asked for, or the one the kernel chose for 0). */
export function boundPort(server: Server, asked: number): number {
  const address = server.address();
  return typeof address === "object" && address ? address.port : asked;
}
