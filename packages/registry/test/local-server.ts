import { digestFromBytes } from "@store/digest";
import { type IncomingMessage, type Server, type ServerResponse, createServer } from "node:http";
import type { AddressInfo, Socket } from "node:net";

/** What a local server saw of one request. */
export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
}

/** A small HTTP server on 127.0.0.1 for what a real registry cannot be made to do. */
export interface LocalServer {
  readonly host: string;
  readonly port: number;
  readonly url: string;
  readonly requests: SeenRequest[];
  close(): Promise<void>;
}

export type Handler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => void | Promise<void>;

/** Starts `handler` on a free port of 127.0.0.1; every request (and its body) is recorded. */
export async function startLocalServer(handler: Handler): Promise<LocalServer> {
  const requests: SeenRequest[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
      Promise.resolve(handler(req, res, Buffer.concat(chunks))).catch((error: Error) => {
        res.statusCode = 500;
        res.end(String(error.stack));
      });
    });
  });
  server.on("connection", (s) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    host: `127.0.0.1:${port}`,
    port,
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** A registry error body as distribution sends it. */
export function errorBody(code: string, message: string): string {
  return JSON.stringify({ errors: [{ code, message, detail: null }] });
}

/** The smallest valid OCI manifest, for servers that only need to answer with one. */
export const manifest = Buffer.from(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"0".repeat(64)}`, size: 2 },
    layers: [],
  }),
);
export const manifestDigest = digestFromBytes(manifest);

/** A credential store with nothing in it: anonymous access. */
export const anonymous = { get: async () => undefined };
