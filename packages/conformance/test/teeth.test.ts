import { BackendError, BackendErrorCode, type StoreBackend, contentKey, createBackend, metadataKey } from "@store/backend";
import { type Digest, digestFromBytes } from "@store/digest";
import { describe, expect, test } from "vitest";
import {
  type BackendCase,
  type BackendFixture,
  backendCases,
  backendHooks,
  closeCases,
  concurrencyCases,
  defaultBackendSuiteOptions,
  metadataCases,
  runCases,
  setGetCases,
  streamCases,
  walkCases,
} from "../src/index";
import { MapDriver, type MapDriverFaults } from "@store/test-support";

// A suite that passes everything proves nothing: each backend below is broken in one way the
// contract forbids, and the cases that guard that promise must fail on it.

const options = { ...defaultBackendSuiteOptions, streamSize: 64 << 20 };

async function failedCases(cases: readonly BackendCase[], make: () => StoreBackend | BackendFixture): Promise<string[]> {
  const hooks = backendHooks(async () => {
    const made = make();
    return "backend" in made && !("get" in made) ? made : { backend: made as StoreBackend };
  });
  const results = await runCases(cases, hooks, options);
  return results.filter((r) => r.status === "failed").map((r) => r.case.name);
}

const named = (cases: readonly BackendCase[], ...fragments: string[]) =>
  fragments.map((fragment) => {
    const found = cases.find((c) => c.name.includes(fragment));
    if (!found) throw new Error(`no case named like ${JSON.stringify(fragment)}`);
    return found.name;
  });

const faulty = (faults: MapDriverFaults) => () => createBackend(new MapDriver({ faults, capabilities: { persistent: true } }));

/** A hand-written backend: the real one with some of its methods replaced. */
function patched(patch: (good: StoreBackend) => Partial<StoreBackend>): () => StoreBackend {
  return () => {
    const good = createBackend(new MapDriver({ capabilities: { persistent: true } }));
    return { ...good, ...patch(good) } as StoreBackend;
  };
}

const notFound = (id: Digest) => new BackendError(BackendErrorCode.NotFound, `content ${id}: not found`);

describe("the suite fails broken backends", () => {
  test("a correct backend fails none of the cases it runs here", async () => {
    const cases = [...setGetCases, ...concurrencyCases, ...metadataCases, ...walkCases, ...closeCases];
    expect(await failedCases(cases, faulty({}))).toEqual([]);
  });

  test("reads that skip verification", async () => {
    const broken = patched((good) => ({
      async get(id) {
        const data = await good.driver.read(contentKey(id));
        if (!data) throw notFound(id);
        return data;
      },
      async getStream(id) {
        const stream = await good.driver.readStream(contentKey(id));
        if (!stream) throw notFound(id);
        return stream;
      },
    }));
    const failed = await failedCases(setGetCases, broken);
    expect(failed).toEqual(named(setGetCases, "refused by get", "fails getStream at its end", "truncated or emptied"));
  });

  test("writes that are not atomic", { timeout: 60_000 }, async () => {
    const failed = await failedCases(concurrencyCases, faulty({ nonAtomicWrites: true }));
    expect(failed).toEqual(named(concurrencyCases, "racing set never", "racing setStream never", "racing metadata rewrites"));
  });

  test("metadata keys that are not checked", async () => {
    const broken = patched((good) => ({
      async setMetadata(id, key, data) {
        if (!(await good.has(id))) throw notFound(id);
        await good.driver.write(metadataKey(id, key), data);
      },
    }));
    expect(await failedCases(metadataCases, broken)).toEqual(named(metadataCases, "invalid keys are refused"));
  });

  test("a walk that hands out strays", async () => {
    const broken = patched((good) => ({
      async walk(fn) {
        for await (const name of good.driver.list("content/sha256")) {
          await fn({ toString: () => `sha256:${name}`, algorithm: "sha256", encoded: name } as unknown as Digest);
        }
      },
    }));
    expect(await failedCases(walkCases, broken)).toContain(named(walkCases, "skips names that are not digests")[0]);
  });

  test("setStream that publishes before verifying", async () => {
    const broken = patched((good) => ({
      async setStream(source, opts = {}) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of source) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
        const bytes = Buffer.concat(chunks);
        await good.driver.write(contentKey(opts.expected ?? digestFromBytes(bytes)), bytes);
        return good.setStream([bytes], opts);
      },
    }));
    const cases = streamCases.filter((c) => !c.name.includes("large"));
    expect(await failedCases(cases, broken)).toEqual(
      expect.arrayContaining(named(cases, "wrong expected digest", "wrong size is refused")),
    );
  });

  test("getStream that holds the whole content", { timeout: 120_000 }, async () => {
    const cases = named(streamCases, "without holding it whole");
    const large = streamCases.filter((c) => cases.includes(c.name));
    expect(await failedCases(large, faulty({ wholeReads: true }))).toEqual(cases);
  });

  test("close that does not close", async () => {
    const broken = patched(() => ({ async close() {} }));
    expect(await failedCases(closeCases, broken)).toEqual(named(closeCases, "refuses every operation"));
  });

  test("every case has a unique name within its concern", () => {
    const keys = backendCases.map((c) => `${c.concern}: ${c.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
