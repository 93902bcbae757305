import { readFile } from "node:fs/promises";
import type { ServerOptions } from "node:https";
import type { DaemonOptions } from "../daemon-options";
import { DaemonError, DaemonErrorCode } from "../errors";

/**
 * Mutual TLS as dockerd's `--tlsverify`: TLS 1.2 or newer, and a client certificate signed by
 * the CA is required (anyone who reaches the port would otherwise control the store).
 */
export async function tlsOptions(tls: DaemonOptions["tls"]): Promise<ServerOptions> {
  if (!tls) throw new DaemonError(DaemonErrorCode.InvalidArgs, "tcp:// hosts need --tlsverify");
  const read = (path: string, what: string) =>
    readFile(path).catch((e: NodeJS.ErrnoException) => {
      throw new DaemonError(DaemonErrorCode.InvalidArgs, `could not read ${what} ${path}: ${e.code ?? e.message}`);
    });
  return {
    ca: await read(tls.ca, "CA certificate (--tlscacert)"),
    cert: await read(tls.cert, "certificate (--tlscert)"),
    key: await read(tls.key, "key (--tlskey)"),
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: "TLSv1.2",
  };
}
