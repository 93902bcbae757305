import type { IncomingMessage, ServerResponse } from "node:http";
import { DaemonError, DaemonErrorCode } from "./errors";
import { versionedPath } from "./http/api-version";
import { errorStatus } from "./http/error-status";
import { writeError } from "./http/json-response";
import type { Router } from "./http/router";
import type { Logger } from "./logger";
import type { Metrics } from "./metrics";
import { API_VERSION, STORED_VERSION } from "./version";

/** What the request handler needs from the daemon around it. */
export interface ApiHandlerOptions {
  router: Router;
  logger: Logger;
  /** Aborted when the daemon shuts down: every request's work is cancelled. */
  shutdown: AbortSignal;
  metrics: Metrics;
}

/** The headers dockerd's middlewares put on every answer: clients negotiate the API version from them. */
const commonHeaders = {
  "Api-Version": API_VERSION,
  Ostype: "linux",
  "Docker-Experimental": "false",
  Server: `stored/${STORED_VERSION} (linux)`,
};
const commonHeaderEntries = Object.entries(commonHeaders);

/**
 * The Engine API over node:http: the version prefix checked, the route found, the handler run
 * with a signal that aborts when the client leaves or the daemon stops, any error answered as
 * dockerd answers it. Returns the handler and the set of requests in flight (for shutdown).
 */
export function createApiHandler(options: ApiHandlerOptions): {
  handle: (req: IncomingMessage, res: ServerResponse) => void;
  inFlight: Set<Promise<void>>;
} {
  const { router, logger, shutdown, metrics } = options;
  const inFlight = new Set<Promise<void>>();

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = performance.now();
    for (const [k, v] of commonHeaderEntries) res.setHeader(k, v);
    // The request's signal is made when a handler first asks for it: most answers (list,
    // inspect) never do, and a controller plus two listeners per request was a tenth of
    // what serving an inspect cost.
    let work: AbortController | undefined;
    let onShutdown: (() => void) | undefined;
    const signal = (): AbortSignal => {
      if (work) return work.signal;
      const controller = new AbortController();
      work = controller;
      const clientClosed = () => new DaemonError(DaemonErrorCode.ClientClosed, "the client closed the connection");
      if (shutdown.aborted) controller.abort(shutdown.reason);
      else {
        onShutdown = () => controller.abort(shutdown.reason);
        shutdown.addEventListener("abort", onShutdown, { once: true });
      }
      // The client left before the answer was complete: stop the work (it undoes itself).
      if (res.closed) {
        if (!res.writableFinished) controller.abort(clientClosed());
      } else {
        res.on("close", () => {
          if (!res.writableFinished) controller.abort(clientClosed());
        });
      }
      return controller.signal;
    };
    const method = req.method ?? "GET";
    let label = "unmatched";
    try {
      const url = new URL(req.url ?? "/", "http://stored");
      if (method === "OPTIONS") {
        res.writeHead(200, { "Content-Length": 0 });
        res.end();
        return;
      }
      let path: string;
      try {
        path = decodeURIComponent(url.pathname);
      } catch {
        throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid URL escape in path ${JSON.stringify(url.pathname)}`);
      }
      // A request on a kept-alive connection after shutdown began starts no new work.
      if (shutdown.aborted) throw shutdown.reason;
      const { version, path: route } = versionedPath(path);
      const match = router.match(method, route);
      if (!match) throw new DaemonError(DaemonErrorCode.RouteNotFound, "page not found");
      label = match.label;
      await match.handler({
        req,
        res,
        query: url.searchParams,
        version,
        params: match.params,
        get signal() {
          return signal();
        },
      });
    } catch (e) {
      const { status, message } = errorStatus(e);
      if (!res.headersSent) writeError(res, status, message);
      else if (!res.writableEnded) res.destroy();
      logger.log(status >= 500 ? "error" : "debug", "request failed", { method, url: req.url, status, error: message });
    } finally {
      if (onShutdown) shutdown.removeEventListener("abort", onShutdown);
      const ms = performance.now() - started;
      metrics.request(label, method, res.statusCode, ms / 1000);
      logger.log("debug", "request", { method, url: req.url, status: res.statusCode, ms: Math.round(ms) });
    }
  }

  return {
    inFlight,
    handle(req, res) {
      const p = serve(req, res).catch((e: unknown) => logger.log("error", "request handler crashed", { error: String(e) }));
      inFlight.add(p);
      void p.finally(() => inFlight.delete(p));
    },
  };
}
