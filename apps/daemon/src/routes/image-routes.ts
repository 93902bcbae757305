import { isStoreError } from "@store/errors";
import type { DeleteResponse, ImageInspect } from "@store/image";
import type { DaemonContext } from "../daemon-context";
import { DaemonError, DaemonErrorCode } from "../errors";
import { compareVersions } from "../http/api-version";
import { goJson, writeJson, writeJsonBytes } from "../http/json-response";
import { boolParam, filtersParam } from "../http/query";
import type { Route } from "../http/router";

/** An image name captured by a route, checked as dockerd checks it before looking it up. */
function imageName(raw: string | undefined): string {
  if (!raw || raw.trim() === "") throw new DaemonError(DaemonErrorCode.InvalidParameter, "image name cannot be blank");
  return raw;
}

/** Logs `untag` and `delete` events for what an rmi or prune answered (layers are not images). */
function logDeletes(ctx: DaemonContext, items: readonly DeleteResponse[], imageIds: ReadonlySet<string>, id: string | undefined): void {
  for (const item of items) {
    // dockerd names the image, not the reference, in an untag event.
    if ("Untagged" in item) ctx.events.record("untag", id ?? item.Untagged, { name: id ?? item.Untagged });
    else if (imageIds.has(item.Deleted)) ctx.events.record("delete", item.Deleted, { name: item.Deleted });
  }
}

/** Image endpoints that answer at once: list, inspect, history, tag, remove, prune. */
export function imageRoutes(ctx: DaemonContext): Route[] {
  const { service } = ctx;
  let pruneRunning = false;
  const inspectBodies = new WeakMap<ImageInspect, Buffer>();
  return [
    {
      method: "GET",
      path: "/images/json",
      handler: (r) => {
        let filters = filtersParam(r.query);
        // Before API 1.41 a `filter` parameter named a reference (docker images NAME of old clients).
        const legacy = r.query.get("filter");
        if (legacy && compareVersions(r.version, "1.41") < 0) filters = { ...filters, reference: [legacy] };
        const list = service.list({ all: boolParam(r.query, "all"), filters, sharedSize: boolParam(r.query, "shared-size") });
        writeJson(r.res, 200, list);
      },
    },
    {
      method: "GET",
      path: "/images/search",
      handler: () => {
        throw new DaemonError(DaemonErrorCode.Unsupported, "search is not supported by stored: it serves the images of its own store");
      },
    },
    { method: "GET", path: /^\/images\/(.+)\/history$/, handler: async (r) => writeJson(r.res, 200, await service.history(imageName(r.params[0]))) },
    {
      method: "GET",
      path: /^\/images\/(.+)\/json$/,
      handler: async (r) => {
        const name = imageName(r.params[0]);
        const inspect = await service.inspect(name).catch((e: unknown) => {
          // dockerd's inspect wraps the lookup's message; the 28.x CLI prints it as it is.
          if (isStoreError(e) && e.kind === "notFound") {
            throw new DaemonError(DaemonErrorCode.ImageNotFound, `no such image: ${name}: ${e.message}`, { cause: e });
          }
          throw e;
        });
        // The image service gives the same frozen answer again while the image is unchanged:
        // serialised once, not on every call.
        let body = inspectBodies.get(inspect);
        if (!body) inspectBodies.set(inspect, (body = Buffer.from(goJson(inspect))));
        writeJsonBytes(r.res, 200, body);
      },
    },
    {
      method: "POST",
      path: /^\/images\/(.+)\/tag$/,
      handler: async (r) => {
        const name = imageName(r.params[0]);
        const repo = r.query.get("repo") ?? "";
        const tag = r.query.get("tag") ?? "";
        if (repo === "") throw new DaemonError(DaemonErrorCode.InvalidParameter, "repository name must have at least one component");
        const id = service.resolve(name);
        const tagged = await service.tag(id.toString(), tag === "" ? repo : `${repo}:${tag}`);
        ctx.events.record("tag", id.toString(), { name: tagged.familiar });
        r.res.writeHead(201);
        r.res.end();
      },
    },
    {
      method: "POST",
      path: "/images/prune",
      handler: async (r) => {
        // dangling (default true: untagged images only), label, label!, until: checked by the service.
        const filters = filtersParam(r.query);
        if (pruneRunning) throw new DaemonError(DaemonErrorCode.PruneBusy, "a prune operation is already running");
        pruneRunning = true;
        try {
          const before = new Set(service.images.records().map((i) => i.id.toString()));
          const report = await service.prune({ filters });
          logDeletes(ctx, report.ImagesDeleted, before, undefined);
          ctx.events.record("prune", "", { reclaimed: String(report.SpaceReclaimed) });
          writeJson(r.res, 200, { ImagesDeleted: report.ImagesDeleted.length > 0 ? report.ImagesDeleted : null, SpaceReclaimed: report.SpaceReclaimed });
        } finally {
          pruneRunning = false;
        }
      },
    },
    {
      method: "DELETE",
      path: /^\/images\/(.*)$/,
      handler: async (r) => {
        const name = imageName(r.params[0]);
        const id = service.resolve(name).toString();
        const before = new Set(service.images.records().map((i) => i.id.toString()));
        const items = await service.remove(name, { force: boolParam(r.query, "force"), prune: !boolParam(r.query, "noprune") });
        logDeletes(ctx, items, before, id);
        writeJson(r.res, 200, items);
      },
    },
  ];
}
