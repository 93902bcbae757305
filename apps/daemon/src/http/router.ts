import type { IncomingMessage, ServerResponse } from "node:http";

/** What a route handler is given for one request. */
export interface RequestContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly query: URLSearchParams;
  /** The API version the client asked for (the path's `/v<version>`, else the newest). */
  readonly version: string;
  /** The route's captured path parts, decoded (an image name may hold `/`, `:` and `@`). */
  readonly params: readonly string[];
  /** Aborted when the client goes away or the daemon shuts down: work stops and undoes itself. */
  readonly signal: AbortSignal;
}

export type Handler = (ctx: RequestContext) => Promise<void> | void;

export type Method = "GET" | "HEAD" | "POST" | "DELETE";

/** One endpoint: a method and an exact path or a pattern whose groups become `params`. */
export interface Route {
  method: Method;
  path: string | RegExp;
  handler: Handler;
}

/**
 * Finds the route of a request, trying routes in order as dockerd's mux does: `/images/json`
 * comes before `/images/{name}/json`, and names are greedy (`{name:.*}`), so
 * `/images/localhost:5000/a/b/push` names `localhost:5000/a/b`. A known path with another
 * method is no match (dockerd answers both with 404 "page not found").
 */
export class Router {
  readonly #routes: Route[] = [];
  /** Each pattern's label, made once (it was made on every request). */
  readonly #labels = new Map<RegExp, string>();

  add(...routes: Route[]): this {
    this.#routes.push(...routes);
    for (const route of routes) if (typeof route.path !== "string") this.#labels.set(route.path, routeLabel(route.path));
    return this;
  }

  /** The route of `method` and `path`: its handler, captured params, and its pattern as a label (`/images/{name}/json`). */
  match(method: string, path: string): { handler: Handler; params: string[]; label: string } | undefined {
    for (const route of this.#routes) {
      if (route.method !== method) continue;
      if (typeof route.path === "string") {
        if (route.path === path) return { handler: route.handler, params: [], label: route.path };
        continue;
      }
      const m = route.path.exec(path);
      if (m) return { handler: route.handler, params: m.slice(1), label: this.#labels.get(route.path)! };
    }
    return undefined;
  }
}

/** `^\/images\/(.+)\/json$` → `/images/{name}/json`: a pattern as metrics and logs name it. */
function routeLabel(pattern: RegExp): string {
  return pattern.source
    .replace(/^\^|\$$/g, "")
    .replace(/\(\.[+*]\)/g, "{name}")
    .replace(/\\\//g, "/");
}
