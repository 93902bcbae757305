import { type IncomingMessage, type Server, type ServerResponse, createServer, request as httpRequest } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What the proxy may do to one request instead of passing it through cleanly. */
export type Fault =
  /** Close the connection before the request reaches the server. */
  | "drop-request"
  /** Let the server handle the request, then close the connection instead of answering. */
  | "drop-response"
  /** Answer part of the server's response body, then close the connection. */
  | "truncate-response"
  /** 503 SlowDown, as S3 throttles. */
  | "slow-down"
  /** 500 InternalError. */
  | "internal-error"
  /** Pass through after a delay. */
  | "slow";

export interface FaultProxyOptions {
  /** Share of requests that get a fault (0..1). */
  rate: number;
  /** Faults to draw from (all by default). */
  faults?: readonly Fault[];
  /** Seed of the deterministic draw, so a failing run can be replayed. */
  seed?: number;
  /**
   * Answer `If-None-Match: *` on PUT and on CompleteMultipartUpload with 412 when the object
   * exists, as AWS S3 does and s3rver does not: a server that honours conditional create.
   */
  enforceIfNoneMatch?: boolean;
}

/** A small HTTP proxy in front of s3rver that injects the failures S3 clients meet. */
export interface FaultProxy {
  readonly endpoint: string;
  /** Requests seen, and faults injected, by kind. */
  readonly stats: { requests: number; faults: Partial<Record<Fault, number>>; preconditionFailed: number };
  /** Changes the share of faulty requests from now on. */
  setRate(rate: number): void;
  close(): Promise<void>;
}

const allFaults: readonly Fault[] = ["drop-request", "drop-response", "truncate-response", "slow-down", "internal-error", "slow"];

/** mulberry32: a tiny seeded PRNG. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function s3Error(res: ServerResponse, status: number, code: string, message: string): void {
  const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message><RequestId>fault-proxy</RequestId></Error>`;
  res.writeHead(status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body) });
  res.end(body);
}

/** Starts the proxy on 127.0.0.1 (an ephemeral port) in front of `upstream` (http://host:port). */
export async function startFaultProxy(upstream: string, options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(upstream);
  const draw = random(options.seed ?? 1);
  const faults = options.faults ?? allFaults;
  let rate = options.rate;
  const stats: FaultProxy["stats"] = { requests: 0, faults: {}, preconditionFailed: 0 };
  const sockets = new Set<Socket>();

  const forward = (req: IncomingMessage, onResponse: (upstreamRes: IncomingMessage) => void, onError: () => void) => {
    const out = httpRequest({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, onResponse);
    out.on("error", onError);
    req.pipe(out);
  };

  // HEAD through to s3rver: does the object of this request's path exist?
  const exists = (path: string) =>
    new Promise<boolean>((resolve) => {
      const head = httpRequest({ host: target.hostname, port: target.port, method: "HEAD", path }, (r) => {
        r.resume();
        resolve(r.statusCode === 200);
      });
      head.on("error", () => resolve(false));
      head.end();
    });

  // Conditional writes in flight, per path: each waits for the one before it to be answered.
  const conditional = new Map<string, Promise<void>>();
  const exclusive = async (path: string, res: ServerResponse): Promise<void> => {
    const previous = conditional.get(path) ?? Promise.resolve();
    const done = new Promise<void>((resolve) => res.once("close", () => resolve()));
    const tail = previous.then(() => done);
    conditional.set(path, tail);
    void tail.then(() => {
      if (conditional.get(path) === tail) conditional.delete(path);
    });
    await previous;
  };

  const server: Server = createServer(async (req, res) => {
    stats.requests++;
    const kill = () => req.socket.destroy();

    if (options.enforceIfNoneMatch && req.headers["if-none-match"] === "*") {
      const path = req.url!.split("?")[0]!;
      const isPut = req.method === "PUT" && !req.url!.includes("partNumber=");
      const isComplete = req.method === "POST" && req.url!.includes("uploadId=");
      // Check and write as one step per path, until the answer is sent: a server enforces the
      // condition atomically, and the conditional-write probe races writers to see that it does.
      if (isPut || isComplete) await exclusive(path, res);
      if ((isPut || isComplete) && (await exists(path))) {
        stats.preconditionFailed++;
        req.resume();
        req.on("end", () => s3Error(res, 412, "PreconditionFailed", "At least one of the pre-conditions you specified did not hold"));
        return;
      }
    }

    const fault = draw() < rate ? faults[Math.floor(draw() * faults.length)]! : undefined;
    if (fault) stats.faults[fault] = (stats.faults[fault] ?? 0) + 1;

    switch (fault) {
      case "drop-request":
        kill();
        return;
      case "slow-down":
      case "internal-error":
        req.resume();
        req.on("end", () =>
          fault === "slow-down"
            ? s3Error(res, 503, "SlowDown", "Please reduce your request rate.")
            : s3Error(res, 500, "InternalError", "We encountered an internal error. Please try again."),
        );
        return;
      case "slow":
        await new Promise((r) => setTimeout(r, 20 + Math.floor(draw() * 200)));
        break;
      default:
        break;
    }

    forward(
      req,
      (up) => {
        if (fault === "drop-response") {
          up.resume();
          up.on("end", kill);
          return;
        }
        res.writeHead(up.statusCode ?? 502, up.headers);
        if (fault === "truncate-response") {
          // HEAD answers carry the object's length but no body: cut those before any byte.
          const length = req.method === "HEAD" ? 0 : Number(up.headers["content-length"] ?? 0);
          if (length < 2) {
            up.resume();
            up.on("end", kill);
            return;
          }
          let sent = 0;
          const cut = Math.floor(length / 2);
          up.on("data", (chunk: Buffer) => {
            if (sent >= cut) return;
            const part = chunk.subarray(0, cut - sent);
            sent += part.byteLength;
            res.write(part);
            if (sent >= cut) {
              up.destroy();
              // Let the half body reach the client before the connection dies.
              setTimeout(kill, 5);
            }
          });
          return;
        }
        up.pipe(res);
      },
      kill,
    );
  });
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;

  return {
    endpoint: `http://127.0.0.1:${port}`,
    stats,
    setRate(next) {
      rate = next;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
