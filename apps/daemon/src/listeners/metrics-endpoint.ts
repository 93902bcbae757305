import { type Server, createServer } from "node:http";
import type { Metrics } from "../metrics";

/** The `--metrics-addr` server: `GET /metrics` in Prometheus' text format, 404 for anything else. */
export function metricsServer(metrics: Metrics): Server {
  return createServer((req, res) => {
    if (req.method === "GET" && req.url?.split("?")[0] === "/metrics") {
      res.writeHead(200, { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" });
      res.end(metrics.render());
    } else {
      res.writeHead(404, { "Content-Type": "text/plain; charset=utf-8" });
      res.end("404 page not found\n");
    }
  });
}
