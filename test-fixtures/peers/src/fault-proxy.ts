import { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse, createServer, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import type { Socket } from "node:net";

/**
 * What a rule does to a matching request. Byte offsets count the response body as the proxy
 * forwards it (from the start of what the registry sent, whatever Range the client asked for).
 */
export type Fault =
  /** Send the first `afterBytes` bytes of the body, then reset the connection (TCP RST). */
  | { kind: "reset"; afterBytes: number }
  /** Send the first `afterBytes` bytes, then close cleanly (FIN): the body ends short of its Content-Length. */
  | { kind: "truncate"; afterBytes: number }
  /** Answer `status` at once (429, 500, 503, …) with a registry-style error body, without asking the registry. */
  | { kind: "status"; status: number; retryAfter?: number | string; body?: string }
  /** Send nothing for `ms` milliseconds: before the response (default) or after `afterBytes` bytes of the body. */
  | { kind: "stall"; ms: number; afterBytes?: number }
  /** Drop the request's Range header: the registry answers 200 with the whole blob instead of 206. */
  | { kind: "ignoreRange" }
  /** Flip the byte at `atByte` (default 0) of the body: same length, wrong digest. */
  | { kind: "corrupt"; atByte?: number };

/** A fault and the requests it applies to. */
export interface FaultRule {
  /** HTTP method to match (default any). */
  method?: string;
  /** Request path (with query) to match: a RegExp, or a string the path must contain (default any). */
  path?: string | RegExp;
  fault: Fault;
  /** Apply to this many matching requests, then stop (default: every one). */
  times?: number;
  /** Matching requests this rule has applied to so far. */
  hits?: number;
}

/** One request the proxy saw. */
export interface ProxiedRequest {
  method: string;
  /** Path and query, as the client sent them. */
  path: string;
  /** The Range header the client sent, if any. */
  range: string | undefined;
  /** The status the client got (0 when the connection was reset before any response). */
  status: number;
  /** Body bytes sent to the client (so far, while the response is in flight). */
  bytes: number;
  /** The kind of the fault applied, if any. */
  fault: Fault["kind"] | undefined;
}

export interface StartFaultProxyOptions {
  /** The registry to forward to: `http://127.0.0.1:<port>` (or https with `targetCa`). */
  target: string;
  /** Initial rules, first match wins (change them later with `faults` / `setFaults`). */
  faults?: FaultRule[];
  /** CA certificate (PEM) to trust when `target` is https. */
  targetCa?: string;
}

/** A fault-injecting HTTP proxy on 127.0.0.1 in front of a registry. */
export interface FaultProxyPeer {
  readonly port: number;
  /** `127.0.0.1:<port>`: use it as the registry host in references (plain HTTP on loopback). */
  readonly host: string;
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  /** The live rules, first match wins; edit in place or replace with setFaults(). */
  readonly faults: FaultRule[];
  /** Every request so far, oldest first (clear with `requests.length = 0`). */
  readonly requests: ProxiedRequest[];
  /** Replaces the rules (hit counts start again). */
  setFaults(rules: FaultRule[]): void;
  /** Requests seen whose path matches (a string the path contains, or a RegExp); all without one. */
  count(path?: string | RegExp, method?: string): number;
  /** Body bytes sent to clients for requests whose path matches (all without one). */
  bytesSent(path?: string | RegExp): number;
  /** Stops listening and drops open connections. Safe to call twice. */
  stop(): Promise<void>;
}

function pathMatches(path: string, want: string | RegExp | undefined): boolean {
  return want === undefined || (typeof want === "string" ? path.includes(want) : want.test(path));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// Hop-by-hop headers are the proxy's own business, not the registry's (RFC 9110 §7.6.1).
const HOP_BY_HOP = ["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"];

function forwardHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const out = { ...headers };
  for (const h of HOP_BY_HOP) delete out[h];
  return out;
}

/**
 * Starts an HTTP proxy on 127.0.0.1 that forwards every request to `target` unchanged (Host
 * included, so the registry's `Location` headers point back at the proxy) and applies the first
 * matching rule: reset or truncate after N bytes, a status with Retry-After, a stall, Range
 * ignored, a corrupted byte. Rules and counters are live: tests change faults mid-run and assert
 * on what clients asked for (e.g. the bytes a resumed pull fetched again).
 */
export async function startFaultProxy(options: StartFaultProxyOptions): Promise<FaultProxyPeer> {
  const target = URL.canParse(options.target) ? new URL(options.target) : undefined;
  if (target?.protocol !== "http:" && target?.protocol !== "https:") {
    throw new Error(`startFaultProxy: target must be an http(s) URL, got ${options.target}`);
  }
  const request = target.protocol === "https:" ? httpsRequest : httpRequest;
  const faults: FaultRule[] = [...(options.faults ?? [])];
  const requests: ProxiedRequest[] = [];
  const sockets = new Set<Socket>();

  const pick = (req: IncomingMessage): FaultRule | undefined => {
    const path = req.url ?? "/";
    for (const rule of faults) {
      if (rule.method !== undefined && rule.method.toUpperCase() !== req.method) continue;
      if (!pathMatches(path, rule.path)) continue;
      if (rule.times !== undefined && (rule.hits ?? 0) >= rule.times) continue;
      rule.hits = (rule.hits ?? 0) + 1;
      return rule;
    }
    return undefined;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const rule = pick(req);
    const fault = rule?.fault;
    const record: ProxiedRequest = { method: req.method ?? "GET", path: req.url ?? "/", range: req.headers.range, status: 0, bytes: 0, fault: fault?.kind };
    requests.push(record);
    const socket = res.socket!;

    if (fault?.kind === "status") {
      req.resume();
      const code = fault.status === 429 ? "TOOMANYREQUESTS" : "UNAVAILABLE";
      const body = fault.body ?? JSON.stringify({ errors: [{ code, message: `fault proxy: ${fault.status}`, detail: null }] });
      record.status = fault.status;
      res.writeHead(fault.status, {
        "Content-Type": "application/json; charset=utf-8",
        "Docker-Distribution-Api-Version": "registry/2.0",
        ...(fault.retryAfter !== undefined ? { "Retry-After": String(fault.retryAfter) } : {}),
      });
      res.end(body);
      return;
    }
    if (fault?.kind === "stall" && fault.afterBytes === undefined) await sleep(fault.ms);

    const headers = forwardHeaders(req.headers);
    if (fault?.kind === "ignoreRange") delete headers.range;
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const up = request(
        { protocol: target.protocol, hostname: target.hostname, port: target.port, method: req.method, path: req.url, headers, ca: options.targetCa },
        resolve,
      );
      up.on("error", reject);
      req.pipe(up);
    });
    record.status = upstream.statusCode ?? 0;
    res.writeHead(upstream.statusCode ?? 502, upstream.statusMessage, forwardHeaders(upstream.headers));
    // Headers go out now, so a fault after N bytes happens mid-body as on a real network.
    res.flushHeaders();

    const cut = fault?.kind === "reset" || fault?.kind === "truncate" ? fault.afterBytes : undefined;
    const stallAt = fault?.kind === "stall" ? fault.afterBytes : undefined;
    const corruptAt = fault?.kind === "corrupt" ? (fault.atByte ?? 0) : undefined;
    let sent = 0;
    let stalled = false;
    const send = async (chunk: Buffer) => {
      await write(res, chunk);
      record.bytes = sent += chunk.length;
    };
    for await (const piece of upstream) {
      let chunk = piece as Buffer;
      if (corruptAt !== undefined && corruptAt >= sent && corruptAt < sent + chunk.length) {
        chunk = Buffer.from(chunk);
        chunk[corruptAt - sent]! ^= 0xff;
      }
      if (stallAt !== undefined && !stalled && sent + chunk.length > stallAt) {
        const head = chunk.subarray(0, stallAt - sent);
        await send(head);
        chunk = chunk.subarray(head.length);
        stalled = true;
        await sleep((fault as { ms: number }).ms);
      }
      if (cut !== undefined && sent + chunk.length >= cut) {
        await send(chunk.subarray(0, cut - sent));
        upstream.destroy();
        // Let the bytes reach the client before the connection goes: an RST makes the kernel
        // drop whatever is still queued, and the test wants exactly `afterBytes` delivered.
        await flushed(res);
        if (fault?.kind === "reset") socket.resetAndDestroy();
        else socket.end();
        return;
      }
      await send(chunk);
    }
    res.end();
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      // The registry went away or the client hung up: mirror it as a reset connection.
      res.socket?.destroy();
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"));
    });
  });
  let stopping: Promise<void> | undefined;
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `http://127.0.0.1:${port}`,
    faults,
    requests,
    setFaults(rules) {
      faults.splice(0, faults.length, ...rules.map((r) => ({ ...r, hits: 0 })));
    },
    count: (path, method) => requests.filter((r) => pathMatches(r.path, path) && (method === undefined || r.method === method.toUpperCase())).length,
    bytesSent: (path) => requests.filter((r) => pathMatches(r.path, path)).reduce((n, r) => n + r.bytes, 0),
    stop: () =>
      (stopping ??= new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      })),
  };
}

/** Writes with backpressure; rejects when the client goes away first. */
async function write(res: ServerResponse, chunk: Uint8Array): Promise<void> {
  if (chunk.length === 0 || res.write(chunk)) return;
  await new Promise<void>((resolve, reject) => {
    const drained = () => {
      res.off("close", closed);
      resolve();
    };
    const closed = () => {
      res.off("drain", drained);
      reject(new Error("fault proxy: the client closed the connection"));
    };
    res.once("drain", drained);
    res.once("close", closed);
  });
}

/** Resolves once everything written has left the process (or after 1 s), plus a moment for loopback delivery. */
async function flushed(res: ServerResponse): Promise<void> {
  const socket = res.socket;
  const deadline = Date.now() + 1_000;
  while (socket && socket.writableLength > 0 && !socket.destroyed && Date.now() < deadline) await sleep(5);
  await sleep(20);
}
