import { type Server, createServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import { unlink } from "node:fs/promises";
import { isStoreError } from "@store/errors";
import { dockerConfigDir } from "@store/registry";
import { type SharedTier, type StoreService, openS3SharedTier, openStore } from "@store/service";
import { createApiHandler } from "./api-server";
import type { DaemonContext } from "./daemon-context";
import { type DaemonOptions, metricsAddress, parseHost } from "./daemon-options";
import { DaemonError, DaemonErrorCode } from "./errors";
import { EventLog } from "./events";
import { Router } from "./http/router";
import type { Logger } from "./logger";
import { Metrics } from "./metrics";
import { removePidfile, writePidfile } from "./pidfile";
import { imageRoutes } from "./routes/image-routes";
import { systemRoutes } from "./routes/system-routes";
import { transferRoutes } from "./routes/transfer-routes";
import { boundPort, listen } from "./listeners/listen";
import { metricsServer } from "./listeners/metrics-endpoint";
import { activatedSockets, systemdSockets } from "./listeners/socket-activation";
import { sharedRegistryContent } from "./listeners/shared-registry";
import { tlsOptions } from "./listeners/tls-options";
import { listenUnix } from "./listeners/unix-socket";

/** A running daemon. */
export interface Daemon {
  /** Where it listens: the unix socket paths it made, `fd://N` for sockets systemd passed, `tcp://HOST:PORT`. */
  readonly sockets: readonly string[];
  readonly service: StoreService;
  /** Where `/metrics` is served (`--metrics-addr`), with the port actually bound. */
  readonly metrics?: { host: string; port: number };
  /** Where the read-only registry API is served (`--registry-addr`), `host:port` with the port bound. */
  readonly registry?: string;
  /** The shared tier (`--s3-bucket`), when the daemon is on one; closed with the store. */
  readonly shared?: SharedTier;
  /**
   * Graceful shutdown: stops accepting, aborts the requests in flight (their work undoes what it
   * half wrote), waits for them, removes the sockets and the pidfile, releases the store.
   */
  stop(): Promise<void>;
}

/** What the daemon reads from its surroundings. */
export interface DaemonEnvironment {
  env: Readonly<Record<string, string | undefined>>;
  logger: Logger;
  /** How long a connection may stay silent mid-request before it is closed (default 2 minutes). */
  idleTimeoutMs?: number;
}

/** How long a socket may stay silent mid-request before it is closed (a client that never finishes its body). */
const IDLE_TIMEOUT_MS = 120_000;
/** How long shutdown waits for aborted requests to undo their work before closing connections. */
const DRAIN_MS = 30_000;

/**
 * Starts `stored`: opens the store once, for writing (holding the root's writer lock until
 * stop, so a second daemon or a writing `store` command on the same root is refused), writes
 * the pidfile, and serves the Engine API on every `-H` socket.
 */
export async function startDaemon(options: DaemonOptions, environment: DaemonEnvironment): Promise<Daemon> {
  const { logger } = environment;
  const listeners = options.hosts.map(parseHost);
  const passed = systemdSockets(environment.env);
  // Checked before the store opens: a daemon that cannot listen should not take the root.
  for (const l of listeners) if (l.kind === "fd") activatedSockets(l.fd, passed);
  let service: StoreService;
  // The shared tier first: a bucket that cannot be reached is said before the root is taken.
  const shared = options.shared
    ? await openS3SharedTier({
        ...options.shared,
        onError: (e) => logger.log("warn", "shared tier", { error: (e as Error).message }),
      })
    : undefined;
  try {
    service = await openStore({
      ...(shared ? { shared } : {}),
      root: options.dataRoot,
      driver: options.storageDriver,
      access: "write",
      // A second daemon must be told at once, not wait for the first to exit.
      lockTimeoutMs: 0,
      registry: {
        configDir: dockerConfigDir(environment.env),
        insecureRegistries: options.insecureRegistries,
        mirrors: options.registryMirrors,
      },
    });
  } catch (e) {
    await shared?.close().catch(() => undefined);
    if (isStoreError(e, "ERR_INTERNAL_LOCKED")) {
      const pid = e.details.pid;
      throw new DaemonError(
        DaemonErrorCode.RootLocked,
        `the data root ${options.dataRoot} is in use by process ${pid ?? "?"} (another stored, or a store command writing to it): one daemon per data root`,
        { cause: e, details: { root: options.dataRoot, ...(pid !== undefined ? { pid } : {}) } },
      );
    }
    throw e;
  }
  const shutdown = new AbortController();
  const servers: Server[] = [];
  const listening: string[] = [];
  const activated: string[] = [];
  let pidfileWritten = false;
  const metrics = new Metrics();
  const ctx: DaemonContext = { service, events: new EventLog(), options, metrics };
  // One log line per operation that changed the store (what `docker events` shows).
  ctx.events.subscribe((e) => logger.log("info", `image ${e.action}`, { id: e.id, ...e.attributes }));
  const router = new Router().add(...systemRoutes(ctx), ...imageRoutes(ctx), ...transferRoutes(ctx));
  const api = createApiHandler({ router, logger, shutdown: shutdown.signal, metrics });
  let metricsAt: { host: string; port: number } | undefined;
  let registryServer: { close(): Promise<void> } | undefined;
  let registryAt: string | undefined;

  // This daemon's share of the tier's upkeep: any daemon may collect, several at once safely.
  let collecting: Promise<unknown> = Promise.resolve();
  const gcTimer =
    shared && options.shared && options.shared.gcIntervalSeconds > 0
      ? setInterval(() => {
          collecting = shared.collectGarbage({ graceMs: options.shared!.gcGraceSeconds * 1000, signal: shutdown.signal }).then(
            (report) => logger.log("info", "shared tier garbage collected", { deleted: report.deleted.length, freedBytes: report.freedBytes }),
            (e: unknown) => logger.log("warn", "shared tier garbage collection failed", { error: (e as Error).message }),
          );
        }, options.shared.gcIntervalSeconds * 1000).unref()
      : undefined;

  let started = false;
  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      if (gcTimer) clearInterval(gcTimer);
      for (const s of servers) s.close();
      shutdown.abort(new DaemonError(DaemonErrorCode.Stopping, "the daemon is shutting down"));
      const drained = Promise.allSettled([...api.inFlight]);
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([drained, new Promise((r) => (timer = setTimeout(r, DRAIN_MS)))]);
      clearTimeout(timer);
      for (const s of servers) s.closeAllConnections();
      for (const p of listening) await unlink(p).catch(() => undefined);
      if (pidfileWritten && options.pidfile) await removePidfile(options.pidfile);
      await collecting;
      await registryServer?.close();
      await service.close();
      if (started) logger.log("info", "daemon stopped");
    })());

  try {
    if (options.pidfile) {
      await writePidfile(options.pidfile);
      pidfileWritten = true;
    }
    const serve = (server: Server) => {
      server.setTimeout(environment.idleTimeoutMs ?? IDLE_TIMEOUT_MS);
      servers.push(server);
      return server;
    };
    const serverOptions = { maxHeaderSize: 64 * 1024, requestTimeout: 0 };
    if (options.metricsAddr) {
      const { host, port } = metricsAddress(options.metricsAddr);
      const server = metricsServer(metrics);
      servers.push(server);
      await listen(server, port, host);
      metricsAt = { host, port: boundPort(server, port) };
    }
    if (shared && options.registryAddr) {
      const { host, port } = metricsAddress(options.registryAddr, "--registry-addr");
      const { startRegistryServer } = await import("@store/registry-server");
      const registry = await startRegistryServer(sharedRegistryContent(shared), {
        host,
        port,
        onRequest: (r) => logger.log(r.status >= 500 ? "warn" : "debug", "registry request", { ...r }),
      });
      registryServer = registry;
      registryAt = registry.address;
    }
    for (const l of listeners) {
      if (l.kind === "unix") {
        await listenUnix(serve(createServer(serverOptions, api.handle)), l.path, options.group);
        listening.push(l.path);
      } else if (l.kind === "tcp") {
        const server = serve(createHttpsServer({ ...(await tlsOptions(options.tls)), ...serverOptions }, api.handle));
        await listen(server, l.port, l.host);
        activated.push(`tcp://${l.host.includes(":") ? `[${l.host}]` : l.host}:${boundPort(server, l.port)}`);
      } else {
        // systemd made these sockets (and removes them): listen, never unlink.
        for (const fd of activatedSockets(l.fd, passed)) {
          await listen(serve(createServer(serverOptions, api.handle)), { fd });
          activated.push(`fd://${fd}`);
        }
      }
    }
  } catch (e) {
    await stop();
    throw e;
  }
  started = true;
  logger.log("info", "API listen", {
    sockets: [...listening, ...activated],
    root: service.root,
    driver: service.driverName,
    ...(metricsAt ? { metrics: `${metricsAt.host}:${metricsAt.port}` } : {}),
    ...(options.shared ? { shared: `s3://${options.shared.bucket}/${options.shared.prefix ?? ""}` } : {}),
    ...(registryAt ? { registry: registryAt } : {}),
  });
  return {
    sockets: [...listening, ...activated],
    service,
    stop,
    ...(metricsAt ? { metrics: metricsAt } : {}),
    ...(registryAt ? { registry: registryAt } : {}),
    ...(shared ? { shared } : {}),
  };
}
