import type { IncomingMessage, ServerResponse } from "node:http";
import { isStoreError } from "@store/errors";
import { maxManifestSize } from "@store/registry";
import { ProtocolError } from "./protocol-error";
import type { RegistryContent, RequestScope } from "./registry-content";
import { parseRoute } from "./registry-route";
import { repositoryName } from "./request-parts";
import { bytesSent, ClientClosedError, sendBytes, sendJson } from "./send-body";
import { serveBlob } from "./serve-blob";
import { serveManifest } from "./serve-manifest";
import { serveTags } from "./serve-tags";

/** One answered request, for a daemon's logs and metrics. */
export interface RegistryRequestRecord {
  method: string;
  /** The request's path and query, as sent (capped at 1024 characters). */
  url: string;
  /** The status answered (what was sent even when the body then failed). */
  status: number;
  /** Body bytes written to the connection. */
  bytes: number;
  durationMs: number;
  /**
   * Why the request failed on our side: the content's error behind a 5xx, a blob whose bytes did
   * not verify mid-stream, or the client closing the connection early. Undefined for answers
   * that are the client's fault (4xx) or success.
   */
  error?: Error;
}

/** Options of {@link createRegistryHandler}. */
export interface RegistryHandlerOptions {
  /**
   * The largest manifest served (default: what the registry client accepts, 4 MiB). Larger
   * content asked for as a manifest is answered as an unknown manifest without being read.
   */
  maxManifestBytes?: number;
  /** Hears every request once answered (or abandoned). */
  onRequest?: (record: RegistryRequestRecord) => void;
}

/** The methods a read-only registry serves; every other is answered 405 `UNSUPPORTED`. */
const readMethods = new Set(["GET", "HEAD"]);

/**
 * An HTTP request handler serving the registry API v2 read-only over `content`: `GET /v2/`,
 * manifests by tag and digest, blobs (with `Range`) and tags lists, with the registry's error
 * bodies. Mount it on any node:http server (or use {@link startRegistryServer}). It never throws:
 * bad input is a 4xx, a failure of the content a 5xx, a failure mid-blob a cut connection.
 */
export function createRegistryHandler(content: RegistryContent, options: RegistryHandlerOptions = {}): (req: IncomingMessage, res: ServerResponse) => void {
  const maxManifestBytes = options.maxManifestBytes ?? maxManifestSize;
  const { onRequest } = options;

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = req.url ?? "";
    // The path as sent: WHATWG URL parsing would resolve `..` and `%2e%2e` first, and a name
    // the client never sent would reach the content. Origin-form only: `*` or an absolute URL
    // names nothing here.
    const queryStart = raw.indexOf("?");
    const path = queryStart < 0 ? raw : raw.slice(0, queryStart);
    const route = path.startsWith("/") ? parseRoute(path) : { kind: "unknown" as const };
    const method = req.method ?? "";
    if (!readMethods.has(method)) {
      // Close rather than read (and drop) a body that may be a whole layer.
      res.setHeader("Connection", "close");
      if (route.kind === "unknown") throw new ProtocolError("NOT_FOUND");
      throw new ProtocolError("UNSUPPORTED", { detail: { method: method.slice(0, 20) }, headers: { Allow: "GET, HEAD" } });
    }
    const query = new URLSearchParams(queryStart < 0 ? "" : raw.slice(queryStart + 1));
    const namespace = query.get("ns") ?? undefined;
    const scope: RequestScope = namespace ? { namespace } : {};
    const head = method === "HEAD";
    switch (route.kind) {
      case "base":
        return sendJson(res, 200, {}, {}, head);
      case "manifest":
        return serveManifest(req, res, repositoryName(route.name), route.reference, { content, scope, maxManifestBytes });
      case "blob":
        return serveBlob(req, res, repositoryName(route.name), route.reference, content, scope);
      case "tags":
        return serveTags(req, res, repositoryName(route.name), query, content, scope);
      case "upload":
        // Upload sessions exist only where writes do: a status query finds none.
        repositoryName(route.name);
        throw new ProtocolError("BLOB_UPLOAD_UNKNOWN");
      default:
        throw new ProtocolError("NOT_FOUND");
    }
  }

  return (req, res) => {
    const started = performance.now();
    res.setHeader("Docker-Distribution-API-Version", "registry/2.0");
    let failure: Error | undefined;
    dispatch(req, res)
      .catch((e: unknown) => {
        const answer = protocolAnswer(e);
        if (answer.status >= 500 || !(e instanceof ProtocolError)) failure = e instanceof Error ? e : new Error(String(e));
        if (res.headersSent || res.destroyed) {
          // Mid-body: the only honest answer left is a cut connection (the client sees a short body).
          res.destroy();
          return;
        }
        sendBytes(res, answer.status, { "Content-Type": "application/json", ...answer.headers }, answer.body(), req.method === "HEAD");
      })
      .finally(() => {
        try {
          onRequest?.({
            method: req.method ?? "",
            url: (req.url ?? "").slice(0, 1024),
            status: res.statusCode,
            bytes: bytesSent(res),
            durationMs: performance.now() - started,
            ...(failure ? { error: failure } : {}),
          });
        } catch {
          // A listener's failure is not the request's, and must not become an unhandled rejection.
        }
      });
  };
}

/** The registry's answer to a failure: its own error, or the content's error classified by kind. */
function protocolAnswer(e: unknown): ProtocolError {
  if (e instanceof ProtocolError) return e;
  if (e instanceof ClientClosedError) return new ProtocolError("UNKNOWN", { message: e.message });
  // The message of a content failure may name paths and hosts behind the server: it goes to
  // onRequest, the client gets the registry's generic text.
  if (isStoreError(e) && (e.kind === "unavailable" || e.kind === "canceled")) return new ProtocolError("UNAVAILABLE");
  return new ProtocolError("UNKNOWN");
}
