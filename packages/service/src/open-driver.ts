import { join } from "node:path";
import { type GraphDriver, GraphDriverError, GraphDriverErrorCode, createDriver } from "@store/graphdriver";
import { isStoreError } from "@store/errors";
import { createOverlay2Driver } from "@store/graphdriver-overlay2";
import type { DriverSpec } from "./open-options";

/** The driver's name, known before it is started (the image dir `<root>/image/<name>` needs it). */
export function driverName(spec: DriverSpec): string {
  return typeof spec === "string" ? spec : spec.name;
}

function isDriver(spec: DriverSpec): spec is GraphDriver {
  return typeof spec === "object" && !("factory" in spec);
}

/**
 * Starts the graph driver `spec` names under `root` (home `<root>/<name>`). overlay2 is made
 * directly; other names go through the registry, where a plugin must have registered them.
 */
export async function openDriver(root: string, spec: DriverSpec): Promise<GraphDriver> {
  if (typeof spec === "string") {
    if (spec === "overlay2") return createOverlay2Driver({ home: join(root, spec) });
    try {
      return await createDriver({ root, name: spec });
    } catch (e) {
      // The registry knows only what plugins registered; overlay2 is built in and never there.
      if (!isStoreError(e, GraphDriverErrorCode.NotFound)) throw e;
      throw new GraphDriverError(GraphDriverErrorCode.NotFound, `unknown storage driver ${JSON.stringify(spec)}: this store supports overlay2`, {
        cause: e,
        details: { driver: spec },
      });
    }
  }
  if (isDriver(spec)) return spec;
  return spec.factory({ home: join(root, spec.name), options: spec.options ?? {} });
}
