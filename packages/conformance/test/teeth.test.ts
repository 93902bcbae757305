import { BackendError, BackendErrorCode, type StoreBackend, contentKey, createBackend, metadataKey } from "@store/backend";
import { type Digest, type DigestLike, digestFromBytes, toDigest } from "@store/digest";
import { describe, expect, test } from "vitest";
import {
  type BackendCase,
  type BackendFixture,
  backendCases,
  backendHooks,
  blobCases,
  closeCases,
  concurrencyCases,
  createOnlyCases,
  defaultBackendSuiteOptions,
  digestCases,
  infoCases,
  metadataCases,
  runCases,
  setGetCases,
  sharedCases,
  streamCases,
  walkCases,
} from "../src/index";
import { MapDriver, type MapDriverFaults } from "@store/test-support";

/** What the Map driver declares here: persistent, and create-only enforced by the medium. */
const mapCapabilities = { persistent: true, conditionalCreate: true };

// A suite that passes everything proves nothing: each backend below is broken in one way the
// contract forbids, and the cases that guard that promise must fail on it.

const options = { ...defaultBackendSuiteOptions, streamSize: 64 << 20, blobSize: 8 << 20 };

async function failedCases(cases: readonly BackendCase[], make: () => BackendFixture): Promise<string[]> {
  const hooks = backendHooks(async () => make());
  const results = await runCases(cases, hooks, options);
  return results.filter((r) => r.status === "failed").map((r) => r.case.name);
}

const named = (cases: readonly BackendCase[], ...fragments: string[]) =>
  fragments.map((fragment) => {
    const found = cases.find((c) => c.name.includes(fragment));
    if (!found) throw new Error(`no case named like ${JSON.stringify(fragment)}`);
    return found.name;
  });

/** A backend over a driver with `faults`, and that driver raw beside it. */
const faulty = (faults: MapDriverFaults) => (): BackendFixture => {
  const driver = new MapDriver({ faults, capabilities: mapCapabilities });
  return { backend: createBackend(driver), driver };
};

/** A hand-written backend: the real one with some of its methods replaced, its driver beside it. */
function patched(patch: (good: StoreBackend, driver: MapDriver) => Partial<StoreBackend>): () => BackendFixture {
  return () => {
    const driver = new MapDriver({ capabilities: mapCapabilities });
    const good = createBackend(driver);
    return { backend: { ...good, ...patch(good, driver) } as StoreBackend, driver };
  };
}

const notFound = (id: Digest) => new BackendError(BackendErrorCode.NotFound, `content ${id}: not found`);

describe("the suite fails broken backends", () => {
  test("a correct backend fails none of the cases it runs here", async () => {
    const cases = [...setGetCases, ...digestCases, ...infoCases, ...createOnlyCases, ...concurrencyCases, ...metadataCases, ...walkCases, ...closeCases];
    expect(await failedCases(cases, faulty({}))).toEqual([]);
  });

  test("reads that skip verification", async () => {
    const broken = patched((_, driver) => ({
      async get(id) {
        const data = await driver.read(contentKey(toDigest(id)));
        if (!data) throw notFound(toDigest(id));
        return data;
      },
      async getStream(id) {
        const stream = await driver.readStream(contentKey(toDigest(id)));
        if (!stream) throw notFound(toDigest(id));
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
    const broken = patched((good, driver) => ({
      async setMetadata(id, key, data) {
        if (!(await good.has(id))) throw notFound(toDigest(id));
        await driver.write(metadataKey(toDigest(id), key), data);
      },
    }));
    expect(await failedCases(metadataCases, broken)).toEqual(named(metadataCases, "invalid keys are refused"));
  });

  test("a walk that hands out strays", async () => {
    const broken = patched((_, driver) => ({
      async walk(fn) {
        for await (const name of driver.list("content/sha256")) {
          await fn({ toString: () => `sha256:${name}`, algorithm: "sha256", encoded: name } as unknown as Digest);
        }
      },
    }));
    expect(await failedCases(walkCases, broken)).toContain(named(walkCases, "skips names that are not digests")[0]);
  });

  test("setStream that publishes before verifying", async () => {
    const broken = patched((good, driver) => ({
      async setStream(source, opts = {}) {
        const chunks: Uint8Array[] = [];
        for await (const chunk of source) chunks.push(typeof chunk === "string" ? Buffer.from(chunk) : chunk);
        const bytes = Buffer.concat(chunks);
        await driver.write(contentKey(opts.expected === undefined ? digestFromBytes(bytes) : toDigest(opts.expected)), bytes);
        return good.setStream([bytes], opts);
      },
    }));
    const cases = streamCases.filter((c) => !c.name.includes("large"));
    expect(await failedCases(cases, broken)).toEqual(expect.arrayContaining(named(cases, "wrong expected digest", "wrong size is refused")));
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

  test("digests taken only as Digest values: their text is not found", async () => {
    // As before toDigest: a string reached the key builder as is (content/undefined/undefined),
    // so content that exists was "not found" by its text, and bad text was never refused.
    const textNotFound = (id: DigestLike) => new BackendError(BackendErrorCode.NotFound, `content ${String(id)}: not found`);
    const broken = patched((good) => ({
      get: (id) => (typeof id === "string" ? Promise.reject(textNotFound(id)) : good.get(id)),
      has: (id) => (typeof id === "string" ? Promise.resolve(false) : good.has(id)),
    }));
    expect(await failedCases(digestCases, broken)).toEqual(named(digestCases, "accepts its text", "malformed digest text"));
  });

  test("info that reads and verifies the content", async () => {
    const broken = patched((good) => ({
      async info(id) {
        const data = await good.get(id).catch(() => undefined);
        return data && { digest: toDigest(id), size: data.byteLength };
      },
    }));
    expect(await failedCases(infoCases, broken)).toEqual(named(infoCases, "does not read or verify"));
  });

  test("a walk that ignores its filter, and a walkMetadata that reads every key", async () => {
    const unfiltered = patched((good) => ({ walk: (fn) => good.walk(fn) }));
    expect(await failedCases(walkCases, unfiltered)).toEqual(named(walkCases, "walks only the algorithm", "can match no digest"));
    const everyKey = patched((good, driver) => ({
      async walkMetadata(key, fn) {
        await good.walk(async (id) => {
          for await (const name of driver.list(`metadata/${id.algorithm}/${id.encoded}`)) {
            if (name !== key) continue;
            const value = await driver.read(metadataKey(id, name));
            if (value) await fn(id, value);
          }
        });
      },
    }));
    // It reads the right values, but ignores the filter and never refuses a bad key.
    expect(await failedCases(metadataCases, everyKey)).toEqual(named(metadataCases, "walkMetadata hands out", "walkMetadata sees deletions"));
  });

  test("create-only writes that replace what is there", async () => {
    expect(await failedCases(createOnlyCases, faulty({ ignoresIfAbsent: true }))).toEqual(
      named(createOnlyCases, "leaves an existing object alone", "exactly one reports"),
    );
  });

  test("a medium that declares conditional create but only looks before it writes", async () => {
    expect(await failedCases(createOnlyCases, faulty({ looksBeforeCreate: true }))).toEqual(named(createOnlyCases, "exactly one reports"));
  });

  test("a driver that fails a create-only commit when the content is there already", async () => {
    expect(await failedCases(blobCases, faulty({ failsWhenTaken: true }))).toEqual(named(blobCases, "concurrent setStreams of one blob"));
  });

  test("a stage that publishes while the blob is still streaming in", async () => {
    expect(await failedCases(blobCases, faulty({ publishesWhileStaging: true }))).toEqual(
      named(blobCases, "a lie unverified is refused", "failing after several MiB", "does not match its expected digest"),
    );
  });

  test("a backend that says it is shared but does not share its location", async () => {
    const capabilities = { persistent: true, shared: true, conditionalCreate: true };
    const unshared = (): BackendFixture => ({
      backend: createBackend(new MapDriver({ capabilities })),
      reopen: async () => createBackend(new MapDriver({ capabilities })),
    });
    expect(await failedCases(sharedCases, unshared)).toEqual(named(sharedCases, "sees what the first publishes", "racing setStreams"));
    // And the cases are skipped, not passed, where nothing is declared.
    const results = await runCases(sharedCases, backendHooks(faulty({})), options);
    expect(results.map((r) => r.status)).toEqual(["skipped", "skipped"]);
  });

  test("every case has a unique name within its concern", () => {
    const keys = backendCases.map((c) => `${c.concern}: ${c.name}`);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
