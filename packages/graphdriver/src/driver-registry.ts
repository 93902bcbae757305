import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { isStoreError } from "@store/errors";
import { GraphDriverError, GraphDriverErrorCode } from "./errors";
import type { GraphDriver } from "./graph-driver";

/** What a driver factory is given. */
export interface DriverConfig {
  /** The driver's own directory: `<root>/<name>`. */
  home: string;
  /** Driver options (dockerd's `--storage-opt` at daemon level), e.g. `{ "overlay2.size": "10G" }`. */
  options: Record<string, string>;
}

/**
 * Makes a driver, after checking it can run here. A driver that cannot (kernel, filesystem,
 * privileges) must throw a StoreError `ERR_GRAPHDRIVER_UNSUPPORTED` saying why: automatic
 * selection then moves on to the next driver, as dockerd does with `ErrNotSupported`.
 */
export type DriverFactory = (config: DriverConfig) => Promise<GraphDriver>;

/** Options for {@link registerDriver}. */
export interface RegisterOptions {
  /** Automatic selection tries higher priorities first; default 0. */
  priority?: number;
}

/** Options for {@link createDriver}. */
export interface CreateDriverOptions {
  /** dockerd's data root; a driver lives in `<root>/<name>`. */
  root: string;
  /** Use exactly this driver; otherwise one is chosen (see {@link createDriver}). */
  name?: string;
  options?: Record<string, string>;
}

interface Registration {
  name: string;
  factory: DriverFactory;
  priority: number;
  order: number;
}

// Kept on globalThis so an ESM and a CJS copy of this package loaded together share one registry.
const registryKey = Symbol.for("@store/graphdriver.registry");
function registry(): Map<string, Registration> {
  const holder = globalThis as unknown as Record<symbol, Map<string, Registration> | undefined>;
  return (holder[registryKey] ??= new Map());
}

/** Registers (or replaces) the driver `name`. */
export function registerDriver(name: string, factory: DriverFactory, options: RegisterOptions = {}): void {
  if (name === "" || name.includes("/") || name === "." || name === "..") {
    throw new GraphDriverError(GraphDriverErrorCode.InvalidOption, `invalid graph driver name ${JSON.stringify(name)}`);
  }
  const drivers = registry();
  const order = drivers.get(name)?.order ?? drivers.size;
  drivers.set(name, { name, factory, priority: options.priority ?? 0, order });
}

/** Removes a registration (for tests and plugins); true when there was one. */
export function unregisterDriver(name: string): boolean {
  return registry().delete(name);
}

/** The registered drivers, in the order automatic selection tries them. */
export function registeredDrivers(): Array<{ name: string; priority: number }> {
  return byPriority().map(({ name, priority }) => ({ name, priority }));
}

function byPriority(): Registration[] {
  return [...registry().values()].sort((a, b) => b.priority - a.priority || a.order - b.order);
}

async function hasContent(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length > 0;
  } catch {
    return false;
  }
}

async function start(registration: Registration, root: string, options: Record<string, string>): Promise<GraphDriver> {
  const home = join(root, registration.name);
  try {
    return await registration.factory({ home, options });
  } catch (error) {
    if (isStoreError(error)) throw error;
    throw new GraphDriverError(
      GraphDriverErrorCode.Unsupported,
      `graph driver ${registration.name} failed to start in ${home}: ${error instanceof Error ? error.message : String(error)}`,
      { details: { driver: registration.name, home }, cause: error },
    );
  }
}

/**
 * Starts a graph driver under `root`, choosing like dockerd: the driver named, or else a driver
 * whose directory under `root` already holds layers (so a restart keeps using them), or else the
 * first by priority whose support check passes. Fails with `ERR_GRAPHDRIVER_NOT_FOUND` for an
 * unknown name and `ERR_GRAPHDRIVER_UNSUPPORTED` (naming each driver tried and why) otherwise.
 */
export async function createDriver({ root, name, options = {} }: CreateDriverOptions): Promise<GraphDriver> {
  const drivers = registry();
  if (name !== undefined) {
    const registration = drivers.get(name);
    if (registration === undefined) {
      throw new GraphDriverError(
        GraphDriverErrorCode.NotFound,
        `graph driver ${JSON.stringify(name)} is not registered (registered: ${[...drivers.keys()].join(", ") || "none"})`,
        { details: { driver: name } },
      );
    }
    return start(registration, root, options);
  }

  const candidates = byPriority();
  const prior: Registration[] = [];
  for (const registration of candidates) {
    if (await hasContent(join(root, registration.name))) prior.push(registration);
  }
  if (prior.length === 1) return start(prior[0]!, root, options);

  const reasons: string[] = [];
  for (const registration of candidates) {
    try {
      return await start(registration, root, options);
    } catch (error) {
      if (!isStoreError(error, GraphDriverErrorCode.Unsupported)) throw error;
      reasons.push(`${registration.name}: ${error.message}`);
    }
  }
  throw new GraphDriverError(
    GraphDriverErrorCode.Unsupported,
    reasons.length === 0 ? `no graph driver is registered (root ${root})` : `no supported graph driver for ${root}: ${reasons.join("; ")}`,
    { details: { root, tried: candidates.map((c) => c.name) } },
  );
}
