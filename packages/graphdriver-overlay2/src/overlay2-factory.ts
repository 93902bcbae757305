import { GraphDriverError, GraphDriverErrorCode, registerDriver, type DriverConfig } from "@store/graphdriver";
import { checkOverlaySupport } from "./overlay-support";
import { Overlay2Driver } from "./overlay2-driver";

/** Options dockerd's overlay2 knows but this driver does not implement (size quotas, mount options). */
const knownUnsupported = new Set(["overlay2.size", "overlay2.override_kernel_check", "overlay2.mountopt"]);

/**
 * Starts an overlay2 driver in `home` after dockerd's support checks (kernel, backing
 * filesystem, d_type, a real two-lower test mount when root). The registry's factory.
 */
export async function createOverlay2Driver({ home, options = {} }: { home: string; options?: Record<string, string> }): Promise<Overlay2Driver> {
  for (const key of Object.keys(options)) {
    throw new GraphDriverError(
      GraphDriverErrorCode.InvalidOption,
      knownUnsupported.has(key) ? `overlay2: option ${key} is not supported by this implementation` : `overlay2: unknown option ${key}`,
      { details: { driver: "overlay2", option: key } },
    );
  }
  return new Overlay2Driver(home, await checkOverlaySupport(home));
}

/** Registers overlay2 in the graph driver registry (idempotent), as dockerd's first choice. */
export function registerOverlay2(priority = 100): void {
  registerDriver("overlay2", (config: DriverConfig) => createOverlay2Driver(config), { priority });
}
