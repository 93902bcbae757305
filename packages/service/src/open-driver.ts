import { join } from "node:path";
import { type GraphDriver, createDriver } from "@store/graphdriver";
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
    return createDriver({ root, name: spec });
  }
  if (isDriver(spec)) return spec;
  return spec.factory({ home: join(root, spec.name), options: spec.options ?? {} });
}
