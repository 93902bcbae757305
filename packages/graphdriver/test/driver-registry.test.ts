import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { StoreError, isStoreError } from "@store/errors";
import {
  GraphDriverError,
  GraphDriverErrorCode,
  createDriver,
  registerDriver,
  registeredDrivers,
  unregisterDriver,
  type DriverConfig,
  type GraphDriver,
} from "../src/index";

// A driver's methods are beside the point here: the registry only starts drivers.
function stub(name: string, config: DriverConfig): GraphDriver {
  return { name, home: config.home } as GraphDriver;
}

const names = ["test-a", "test-b", "test-c"];
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "gd-registry-"));
});
afterEach(async () => {
  for (const name of names) unregisterDriver(name);
  await rm(root, { recursive: true, force: true });
});

function unsupported(name: string, why: string): never {
  throw new GraphDriverError(GraphDriverErrorCode.Unsupported, `${name}: ${why}`);
}

describe("driver registry", () => {
  it("starts the named driver in <root>/<name> with its options", async () => {
    let seen: DriverConfig | undefined;
    registerDriver("test-a", async (config) => {
      seen = config;
      return stub("test-a", config);
    });
    const driver = await createDriver({ root, name: "test-a", options: { k: "v" } });
    expect(driver.name).toBe("test-a");
    expect(seen).toEqual({ home: join(root, "test-a"), options: { k: "v" } });
  });

  it("names the unknown driver and the registered ones", async () => {
    registerDriver("test-a", async (c) => stub("test-a", c));
    const error = await createDriver({ root, name: "zfs-nope" }).catch((e: unknown) => e);
    expect(isStoreError(error, GraphDriverErrorCode.NotFound)).toBe(true);
    expect((error as Error).message).toMatch(/"zfs-nope" is not registered \(registered: .*test-a/);
  });

  it("picks by priority the first driver whose support check passes", async () => {
    registerDriver("test-a", async () => unsupported("test-a", "no kernel support"), { priority: 1000 });
    registerDriver("test-b", async (c) => stub("test-b", c), { priority: 900 });
    registerDriver("test-c", async (c) => stub("test-c", c), { priority: 950 });
    expect(
      registeredDrivers()
        .filter((d) => names.includes(d.name))
        .map((d) => d.name),
    ).toEqual(["test-a", "test-c", "test-b"]);
    expect((await createDriver({ root })).name).toBe("test-c");
  });

  it("prefers a driver whose directory already holds layers", async () => {
    registerDriver("test-b", async (c) => stub("test-b", c), { priority: 900 });
    registerDriver("test-c", async (c) => stub("test-c", c), { priority: 950 });
    await mkdir(join(root, "test-b"));
    await writeFile(join(root, "test-b", "layer"), "");
    expect((await createDriver({ root })).name).toBe("test-b");
  });

  it("fails naming every driver tried and why, when none is supported", async () => {
    for (const name of names) unregisterDriver(name);
    const others = registeredDrivers().map((d) => d.name);
    for (const name of others) expect(name).not.toMatch(/^test-/);
    registerDriver("test-a", async () => unsupported("test-a", "needs xfs"), { priority: 10_000 });
    registerDriver("test-b", async () => unsupported("test-b", "needs root"), { priority: 9_999 });
    if (others.length > 0) return; // another driver registered in this process could be chosen
    const error = await createDriver({ root }).catch((e: unknown) => e);
    expect(isStoreError(error, GraphDriverErrorCode.Unsupported)).toBe(true);
    expect((error as Error).message).toContain("test-a: test-a: needs xfs");
    expect((error as Error).message).toContain("test-b: test-b: needs root");
  });

  it("explains a named driver that fails to start, and stops at errors other than unsupported", async () => {
    registerDriver(
      "test-a",
      async () => {
        throw new Error("EACCES: permission denied");
      },
      { priority: 10_000 },
    );
    const named = await createDriver({ root, name: "test-a" }).catch((e: unknown) => e);
    expect(isStoreError(named, GraphDriverErrorCode.Unsupported)).toBe(true);
    expect((named as Error).message).toMatch(/graph driver test-a failed to start in .*test-a: EACCES/);

    registerDriver(
      "test-a",
      async () => {
        throw new StoreError("ERR_SOMETHING_ELSE", "disk on fire");
      },
      { priority: 10_000 },
    );
    registerDriver("test-b", async (c) => stub("test-b", c), { priority: 9_000 });
    const auto = await createDriver({ root }).catch((e: unknown) => e);
    expect(isStoreError(auto, "ERR_SOMETHING_ELSE")).toBe(true);
  });

  it("refuses driver names that are not a path component", () => {
    expect(() => registerDriver("../x", async (c) => stub("x", c))).toThrow(/invalid graph driver name/);
  });
});
