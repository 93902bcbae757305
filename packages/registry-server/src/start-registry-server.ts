import { createServer } from "node:http";
import { isIP } from "node:net";
import { RegistryServerError, RegistryServerErrorCode } from "./errors";
import type { RegistryContent } from "./registry-content";
import { createRegistryHandler, type RegistryHandlerOptions } from "./registry-handler";

/** Options of {@link startRegistryServer}. */
export interface RegistryServerOptions extends RegistryHandlerOptions {
  /** The interface to listen on (default `127.0.0.1`; `0.0.0.0` or `::` for every one). */
  host?: string;
  /** The TCP port (default 0: one the kernel picks, read back from `port`). */
  port?: number;
  /**
   * A connection that neither sends nor takes a byte for this long is closed (default 120 s): a
   * client that stops reading a blob does not hold its stream open forever.
   */
  idleTimeoutMs?: number;
}

/** A listening registry server. */
export interface RegistryServer {
  /** The host it listens on, as given. */
  readonly host: string;
  /** The port it listens on (the one picked, for port 0). */
  readonly port: number;
  /** `host:port` as clients name it in a reference (`127.0.0.1:5000`, `[::1]:5000`). */
  readonly address: string;
  /**
   * Stops accepting, closes idle connections and cuts those still answering (a client mid-blob
   * resumes elsewhere with `Range`; nothing is written, so nothing is left partial). Safe to call twice.
   */
  close(): Promise<void>;
}

/**
 * Starts the registry API v2, read-only, over `content` on `host:port` (plain HTTP: docker and
 * containerd treat 127.0.0.0/8 as insecure already; other addresses need `--insecure-registry`
 * or a TLS proxy in front). Resolves once listening; an address in use is ERR_REGISTRYSERVER_LISTEN_FAILED.
 */
export async function startRegistryServer(content: RegistryContent, options: RegistryServerOptions = {}): Promise<RegistryServer> {
  const host = options.host ?? "127.0.0.1";
  const port = options.port ?? 0;
  const idleTimeoutMs = options.idleTimeoutMs ?? 120_000;
  if (typeof host !== "string" || host === "" || /[\s/]/.test(host)) {
    throw new RegistryServerError(RegistryServerErrorCode.InvalidOptions, `registry server: invalid host ${JSON.stringify(host)}`, { details: { host } });
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RegistryServerError(RegistryServerErrorCode.InvalidOptions, `registry server: invalid port ${JSON.stringify(port)}: an integer from 0 to 65535`, {
      details: { port },
    });
  }
  if (!Number.isInteger(idleTimeoutMs) || idleTimeoutMs <= 0) {
    throw new RegistryServerError(RegistryServerErrorCode.InvalidOptions, `registry server: invalid idleTimeoutMs ${JSON.stringify(idleTimeoutMs)}`, {
      details: { idleTimeoutMs },
    });
  }
  const server = createServer(createRegistryHandler(content, options));
  server.setTimeout(idleTimeoutMs, (socket) => socket.destroy());
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    throw new RegistryServerError(
      RegistryServerErrorCode.ListenFailed,
      `registry server: cannot listen on ${host}:${port}: ${code ?? (cause as Error).message}`,
      { cause, details: { host, port, code } },
    );
  }
  const bound = server.address();
  const actualPort = typeof bound === "object" && bound !== null ? bound.port : port;
  let closing: Promise<void> | undefined;
  return {
    host,
    port: actualPort,
    address: `${isIP(host) === 6 ? `[${host}]` : host}:${actualPort}`,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
