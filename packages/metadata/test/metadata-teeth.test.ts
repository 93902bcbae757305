import { runCases } from "@store/conformance";
import { MemoryMetadataDriver, type MetadataStore, createMetadataStore } from "../src/index";
import { describe, expect, test } from "vitest";
import {
  type MetadataCase,
  type MetadataFixture,
  casCases,
  defaultMetadataSuiteOptions,
  keyCases,
  metadataCloseCases,
  metadataHooks,
  metadataPersistenceCases,
  metadataStoreCases,
  recordCases,
} from "../src/conformance/index";

// A suite that passes everything proves nothing: each store below breaks one promise of the
// MetadataStore contract, and the cases that guard that promise must fail on it.

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function failedCases(cases: readonly MetadataCase[], make: () => MetadataFixture): Promise<string[]> {
  const results = await runCases(cases, metadataHooks(make), defaultMetadataSuiteOptions);
  return results.filter((r) => r.status === "failed").map((r) => r.case.name);
}

const named = (cases: readonly MetadataCase[], ...fragments: string[]) =>
  fragments.map((fragment) => {
    const found = cases.find((c) => c.name.includes(fragment));
    if (!found) throw new Error(`no case named like ${JSON.stringify(fragment)}`);
    return found.name;
  });

/** Declares compare-and-swap but checks, yields, then writes: what a server that ignores If-Match does under load. */
class CheckThenWriteDriver extends MemoryMetadataDriver {
  override async create(key: string, data: Uint8Array) {
    const exists = (await this.read(key)) !== undefined;
    await tick();
    return exists ? undefined : this.write(key, data);
  }
  override async replace(key: string, data: Uint8Array, version: string) {
    const current = await this.read(key);
    await tick();
    return current?.version === version ? this.write(key, data) : undefined;
  }
  override async remove(key: string, version?: string) {
    const current = await this.read(key);
    await tick();
    if (version !== undefined && current?.version !== version) return false;
    return super.remove(key);
  }
}

/** Declares compare-and-swap and ignores every condition: what s3rver does with If-None-Match and If-Match. */
class IgnoresConditionsDriver extends MemoryMetadataDriver {
  override async create(key: string, data: Uint8Array) {
    return this.write(key, data);
  }
  override async replace(key: string, data: Uint8Array) {
    return this.write(key, data);
  }
  override async remove(key: string) {
    return super.remove(key);
  }
}

/** A fresh store per case over a fresh driver of `Driver`. */
const storeOver = (Driver: new () => MemoryMetadataDriver) => () => ({ store: createMetadataStore(new Driver()) });

describe("the metadata suite fails broken stores", () => {
  test("a correct store fails none of the cases", async () => {
    expect(await failedCases(metadataStoreCases, storeOver(MemoryMetadataDriver))).toEqual([]);
  });

  test("conditions checked, then written (a race window): every race case fails, and only those", { timeout: 60_000 }, async () => {
    const failed = await failedCases(metadataStoreCases, storeOver(CheckThenWriteDriver));
    expect(failed).toEqual(named(casCases, "racing putIfAbsent", "racing putIfVersion", "one counter", "versioned delete racing"));
  });

  test("conditions ignored: the sequential refusals fail too", { timeout: 60_000 }, async () => {
    const failed = await failedCases([...recordCases, ...casCases], storeOver(IgnoresConditionsDriver));
    expect(failed).toEqual(
      expect.arrayContaining([
        ...named(recordCases, "on an existing key is refused", "stale version is refused", "deleted or never written", "stale one it is refused"),
        ...named(casCases, "racing putIfAbsent", "racing putIfVersion", "one counter"),
      ]),
    );
  });

  test("keys that are not checked", async () => {
    const broken = () => {
      const driver = new MemoryMetadataDriver();
      const good = createMetadataStore(driver);
      const store: MetadataStore = {
        ...good,
        get: (key) => driver.read(key),
        putIfAbsent: async (key, data) => (await driver.create(key, data)) ?? good.putIfAbsent(key, data),
      };
      return { store };
    };
    expect(await failedCases(keyCases, broken)).toEqual(named(keyCases, "refused by every operation", "non-string key"));
  });

  test("a store that claims persistence but forgets on reopen", async () => {
    const broken = () => {
      const store = createMetadataStore(new MemoryMetadataDriver());
      const lying: MetadataStore = { ...store, capabilities: { ...store.capabilities, persistent: true } };
      return { store: lying, reopen: async () => createMetadataStore(new MemoryMetadataDriver()) };
    };
    expect(await failedCases(metadataPersistenceCases, broken)).toEqual(named(metadataPersistenceCases, "survive close and reopen"));
  });

  test("close that does not close", async () => {
    const broken = () => ({ store: { ...createMetadataStore(new MemoryMetadataDriver()), close: async () => {} } });
    expect(await failedCases(metadataCloseCases, broken)).toEqual(named(metadataCloseCases, "after close"));
  });

  test("every case has a unique name within its concern", () => {
    const keys = metadataStoreCases.map((c) => `${c.concern}: ${c.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
