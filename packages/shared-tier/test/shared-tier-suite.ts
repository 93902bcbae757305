import { randomBytes } from "node:crypto";
import { type Digest, digestFromBytes } from "@store/digest";
import type { MetadataStore } from "@store/metadata";
import { describe, expect, test } from "vitest";
import {
  type CollectGarbageOptions,
  type GarbagePhase,
  type GarbageReport,
  type LeaseRecord,
  collectGarbage,
  ensureBlob,
  openHostLeases,
  readLiveLeases,
} from "../src/index";
import { MapReferenceLog, imageRecord } from "./support/map-reference-log";
import type { TierHost, TierMedium } from "./support/tier-medium";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
const decoder = new TextDecoder();

/** A promise and the function that resolves it. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { opened, open };
}

async function leaseOf(store: MetadataStore, host: string): Promise<LeaseRecord | undefined> {
  const record = await store.get(`leases/${host}`);
  return record === undefined ? undefined : (JSON.parse(decoder.decode(record.data)) as LeaseRecord);
}

/** `store`, counting its conditional writes. */
function countingWrites(store: MetadataStore): { store: MetadataStore; writes: () => number } {
  let writes = 0;
  const counted = new Proxy(store, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (property === "putIfAbsent" || property === "putIfVersion") {
        return (...args: unknown[]) => {
          writes++;
          return (value as (...a: unknown[]) => unknown).apply(object, args);
        };
      }
      return typeof value === "function" ? value.bind(object) : value;
    },
  });
  return { store: counted, writes: () => writes };
}

/** Content stored on `host`, and its digest. */
async function stored(host: TierHost, size = 256): Promise<{ digest: Digest; data: Uint8Array }> {
  const data = new Uint8Array(randomBytes(size));
  return { digest: await host.blobs.set(data), data };
}

function expectBytes(actual: Uint8Array, expected: Uint8Array): void {
  expect(Buffer.from(actual).equals(Buffer.from(expected))).toBe(true);
}

/** A collection run by `host` with no grace period and no skew: tests wait only for what they mean to. */
function collectOn(host: TierHost, log: MapReferenceLog, options: Partial<CollectGarbageOptions> = {}): Promise<GarbageReport> {
  return collectGarbage({ blobs: host.blobs, metadata: host.metadata, log, hostId: host.hostId, graceMs: 0, clockSkewMs: 0, ...options });
}

const randomDigest = () => digestFromBytes(new Uint8Array(randomBytes(16)));

/**
 * The shared tier's leases, one-upload ingest and collector on one medium, with several hosts
 * (each with clients of its own) sharing it. Timings are short: TTLs of a few hundred ms and
 * clockSkewMs 0 where a case waits for something to expire.
 */
export function sharedTierSuite(label: string, openMedium: () => Promise<TierMedium>): void {
  const withMedium = (fn: (medium: TierMedium) => Promise<void>) => async () => {
    const medium = await openMedium();
    try {
      await fn(medium);
    } finally {
      await medium.close();
    }
  };

  describe(`${label}: host leases`, () => {
    test(
      "a hold resolves once the record names its digests; stop removes the record and refuses later holds",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const leases = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 10_000 });
        const x = randomDigest();
        await leases.hold([x]);
        const record = await leaseOf(a.metadata, "host-a");
        expect(record).toMatchObject({ v: 1, host: "host-a", digests: [x.toString()] });
        expect(Date.parse(record!.expires) - Date.parse(record!.renewed)).toBe(10_000);
        expect(await readLiveLeases(a.metadata, { clockSkewMs: 0 })).toEqual(new Set([x.toString()]));
        await leases.stop();
        expect(await a.metadata.get("leases/host-a")).toBeUndefined();
        await expect(leases.hold([x])).rejects.toMatchObject({ code: "ERR_SHARED_CLOSED" });
      }),
    );

    test(
      "a restarted host takes over the record its previous run left",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const [x, y] = [randomDigest(), randomDigest()];
        const before = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 10_000 });
        await before.hold([x]); // then the process dies: no stop(), the record stays
        const after = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 10_000 });
        await after.hold([y]);
        expect((await leaseOf(a.metadata, "host-a"))!.digests).toEqual([y.toString()]);
        await after.stop();
      }),
    );

    test(
      "concurrent holds share one write, and each resolves after a write that names it",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const { store, writes } = countingWrites(a.metadata);
        const leases = openHostLeases({ store, hostId: "host-a", ttlMs: 10_000 });
        const digests = Array.from({ length: 10 }, randomDigest);
        await Promise.all(digests.map((d) => leases.hold([d])));
        // The first hold's write, then one for the nine that arrived while it was in flight.
        expect(writes()).toBeLessThanOrEqual(2);
        expect((await leaseOf(a.metadata, "host-a"))!.digests).toEqual(digests.map(String).sort());
        await leases.stop();
      }),
    );

    test(
      "holds count: a digest held twice stays until both holds are released",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const leases = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 10_000 });
        const [x, y, z] = [randomDigest(), randomDigest(), randomDigest()];
        const first = await leases.hold([x]);
        const second = await leases.hold([x]);
        first.release();
        await leases.hold([y]);
        expect((await leaseOf(a.metadata, "host-a"))!.digests).toEqual([x, y].map(String).sort());
        second.release();
        second.release(); // idempotent: does not release someone else's count
        await leases.hold([z]);
        expect((await leaseOf(a.metadata, "host-a"))!.digests).toEqual([y, z].map(String).sort());
        await leases.stop();
      }),
    );

    test(
      "the heartbeat renews; a host that stops renewing expires; a failed renewal is reported and retried",
      withMedium(async (m) => {
        const [a, b, c] = [await m.host("host-a"), await m.host("host-b"), await m.host("host-c")];
        const live = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 600, renewMs: 150 });
        const dead = openHostLeases({ store: b.metadata, hostId: "host-b", ttlMs: 400 });
        const [x, y] = [randomDigest(), randomDigest()];
        live.start();
        await live.hold([x]);
        await dead.hold([y]);
        const renewed = (await leaseOf(a.metadata, "host-a"))!.renewed;
        expect(await readLiveLeases(c.metadata, { clockSkewMs: 0 })).toEqual(new Set([x, y].map(String)));
        await sleep(700);
        expect(Date.parse((await leaseOf(a.metadata, "host-a"))!.renewed)).toBeGreaterThan(Date.parse(renewed));
        // host-b never renewed: past its TTL it holds nothing, though its record is still there.
        expect(await readLiveLeases(c.metadata, { clockSkewMs: 0 })).toEqual(new Set([x.toString()]));
        expect(await leaseOf(c.metadata, "host-b")).toBeDefined();
        // Until the skew allowed for clocks has passed too.
        expect(await readLiveLeases(c.metadata, { clockSkewMs: 60_000 })).toEqual(new Set([x, y].map(String)));
        await live.stop();

        const errors: unknown[] = [];
        const failing = openHostLeases({ store: c.metadata, hostId: "host-c", ttlMs: 300, renewMs: 50, onError: (e) => errors.push(e) });
        await failing.hold([randomDigest()]);
        failing.start();
        c.kill();
        await sleep(250);
        // Reported each time, never thrown into the timer (which would crash the process).
        expect(errors.length).toBeGreaterThanOrEqual(2);
        expect(String(errors[0])).toContain("host killed");
        await expect(failing.stop()).rejects.toThrow("host killed");
      }),
    );
  });

  describe(`${label}: one upload per digest`, () => {
    test(
      "4 hosts ensuring one digest at once upload it exactly once",
      withMedium(async (m) => {
        const hosts = await Promise.all(["h1", "h2", "h3", "h4"].map((id) => m.host(id)));
        const data = new Uint8Array(randomBytes(200_000));
        const digest = digestFromBytes(data);
        const uploaders: string[] = [];
        const results = await Promise.all(
          hosts.map((h) =>
            ensureBlob(h, digest, async () => {
              uploaders.push(h.hostId);
              await sleep(100); // a real upload takes a while: the others must wait, not upload too
              await h.blobs.set(data);
            }),
          ),
        );
        expect(uploaders).toHaveLength(1);
        expect(results.sort()).toEqual(["present", "present", "present", "uploaded"]);
        const puts = m.contentPuts(digest);
        if (puts !== undefined) expect(puts).toBe(1);
        expect(await hosts[0]!.metadata.list("ingest")).toEqual([]);
        expectBytes(await hosts[3]!.blobs.get(digest), data);
        // Asked again, it is there: nothing more is uploaded.
        expect(await ensureBlob(hosts[1]!, digest, async () => void uploaders.push("again"))).toBe("present");
        expect(uploaders).toHaveLength(1);
      }),
    );

    test(
      "a claim is renewed while its upload runs: an upload longer than the claim's timeout is not done twice",
      withMedium(async (m) => {
        const [a, b] = [await m.host("host-a"), await m.host("host-b")];
        const data = new Uint8Array(randomBytes(1000));
        const digest = digestFromBytes(data);
        const options = { claimTimeoutMs: 300, clockSkewMs: 0, settleMs: 50 };
        const uploads: string[] = [];
        const slowUpload = (h: TierHost) => async () => {
          uploads.push(h.hostId);
          await sleep(900);
          await h.blobs.set(data);
        };
        const first = ensureBlob(a, digest, slowUpload(a), options);
        while (uploads.length === 0) await sleep(10);
        const second = ensureBlob(b, digest, slowUpload(b), options);
        expect(await first).toBe("uploaded");
        expect(await second).toBe("present");
        expect(uploads).toEqual(["host-a"]);
        const puts = m.contentPuts(digest);
        if (puts !== undefined) expect(puts).toBe(1);
      }),
    );

    test(
      "a claim whose owner died is taken over once it expires",
      withMedium(async (m) => {
        const [a, b] = [await m.host("host-a"), await m.host("host-b")];
        const data = new Uint8Array(randomBytes(1000));
        const digest = digestFromBytes(data);
        const options = { claimTimeoutMs: 300, clockSkewMs: 0, settleMs: 50 };
        const stuck = gate();
        const uploads: string[] = [];
        const owner = ensureBlob(
          a,
          digest,
          async () => {
            uploads.push("host-a");
            await stuck.opened;
          },
          options,
        ).catch((e: unknown) => e);
        while (uploads.length === 0) await sleep(10);
        a.kill(); // stops renewing, never finishes, never removes its claim
        const started = Date.now();
        const result = await ensureBlob(
          b,
          digest,
          async () => {
            uploads.push("host-b");
            await b.blobs.set(data);
          },
          options,
        );
        expect(result).toBe("uploaded");
        expect(uploads).toEqual(["host-a", "host-b"]);
        // It waited for the dead claim to run out rather than uploading beside it.
        expect(Date.now() - started).toBeGreaterThanOrEqual(150);
        expectBytes(await b.blobs.get(digest), data);
        expect(await b.metadata.list("ingest")).toEqual([]);
        stuck.open();
        expect(String(await owner)).toContain("host killed");
      }),
    );

    test(
      "an upload that fails or stores nothing is an error, leaves no claim, and the next try uploads",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const data = new Uint8Array(randomBytes(500));
        const digest = digestFromBytes(data);
        await expect(ensureBlob(a, digest, async () => Promise.reject(new Error("network down")))).rejects.toThrow("network down");
        expect(await a.metadata.list("ingest")).toEqual([]);
        const nothing = ensureBlob(a, digest, async () => {});
        await expect(nothing).rejects.toMatchObject({ code: "ERR_SHARED_NOT_FOUND" });
        await expect(nothing).rejects.toThrow(`the upload of ${digest} finished but the tier does not hold ${digest}`);
        expect(await a.metadata.list("ingest")).toEqual([]);
        expect(await ensureBlob(a, digest, async () => void (await a.blobs.set(data)))).toBe("uploaded");
        await expect(ensureBlob(a, "sha256:nothex", async () => {})).rejects.toMatchObject({ kind: "invalid" });
        await expect(ensureBlob({ ...a, hostId: "a/b" }, digest, async () => {})).rejects.toMatchObject({ code: "ERR_SHARED_INVALID_OPTIONS" });
      }),
    );
  });

  describe(`${label}: garbage collection`, () => {
    test(
      "keeps referenced, leased and young blobs and deletes the rest; a dry run deletes nothing",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const log = new MapReferenceLog();
        const [config, manifest, layer, leased, old1, old2] = await Promise.all(Array.from({ length: 6 }, () => stored(a)));
        await log.append([{ op: "image", image: imageRecord(config!.digest.toString(), manifest!.digest.toString(), [layer!.digest.toString()]) }]);
        const leases = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 30_000 });
        await leases.hold([leased!.digest]);
        // S3's Last-Modified has whole seconds: two of them apart, "old" and "young" differ surely.
        await sleep(2_000);
        const young = await stored(a);
        const options = { blobs: a.blobs, metadata: a.metadata, log, hostId: "host-a", graceMs: 1_500, clockSkewMs: 0 };
        const report = await collectGarbage(options);
        expect(report).toMatchObject({ examined: 7, unreferenced: 4, leased: 1, young: 1, freedBytes: 512, stoppedAtDeadline: false });
        expect(report.deleted.map(String)).toEqual([old1!.digest, old2!.digest].map(String).sort());
        for (const kept of [config, manifest, layer, leased, young]) expect(await a.blobs.has(kept!.digest)).toBe(true);
        for (const gone of [old1, old2]) expect(await a.blobs.has(gone!.digest)).toBe(false);
        expect(log.refreshes).toBe(2); // the state is read again after the candidates are published
        const runs = await a.metadata.list("gc");
        expect(runs).toHaveLength(1);
        expect(JSON.parse(decoder.decode((await a.metadata.get(runs[0]!))!.data))).toMatchObject({ state: "done", host: "host-a" });

        await leases.stop();
        const dry = await collectGarbage({ ...options, graceMs: 0, dryRun: true });
        expect(dry.deleted.map(String)).toEqual([leased!.digest, young.digest].map(String).sort());
        expect(await a.blobs.has(leased!.digest)).toBe(true);
        expect(await a.blobs.has(young.digest)).toBe(true);
        expect(await a.metadata.list("gc")).toEqual(runs);
      }),
    );

    for (const pauseAt of ["published", "rechecked"] as const) {
      test(
        `distribution#3045: a writer that leases a blob while a collection is ${pauseAt === "published" ? "between publishing and its recheck" : "past its recheck"} ends with the blob present`,
        withMedium(async (m) => {
          const [collector, writer] = [await m.host("collector"), await m.host("writer")];
          const log = new MapReferenceLog();
          const blob = await stored(writer);
          const paused = gate();
          const resume = gate();
          const onPhase = async (phase: GarbagePhase) => {
            if (phase !== pauseAt) return;
            paused.open();
            await resume.opened;
          };
          const run = collectOn(collector, log, { onPhase });
          await paused.opened;

          // The writer's protocol: lease first, then ensure (which may find the blob present).
          const leases = openHostLeases({ store: writer.metadata, hostId: "writer", ttlMs: 30_000 });
          const hold = await leases.hold([blob.digest]);
          let uploads = 0;
          let answered = false;
          const ensured = ensureBlob(
            writer,
            blob.digest,
            async () => {
              uploads++;
              await writer.blobs.set(blob.data);
            },
            { clockSkewMs: 0 },
          ).finally(() => (answered = true));
          await sleep(200);
          // The blob is present, but a candidate of a pending run: the writer waits for the run.
          expect(answered).toBe(false);
          resume.open();
          const report = await run;
          const result = await ensured;
          if (pauseAt === "published") {
            // The recheck read the writer's lease: kept, nothing uploaded again.
            expect(report.deleted).toEqual([]);
            expect(report.leased).toBe(1);
            expect(result).toBe("present");
            expect(uploads).toBe(0);
          } else {
            // Deleted by a run that had decided before the lease existed: the writer uploads again.
            expect(report.deleted.map(String)).toEqual([blob.digest.toString()]);
            expect(result).toBe("uploaded");
            expect(uploads).toBe(1);
          }
          await log.append([{ op: "image", image: imageRecord(blob.digest.toString(), blob.digest.toString(), []) }]);
          hold.release();
          await leases.stop();
          // What the record references is there, and a later collection keeps it.
          expectBytes(await writer.blobs.get(blob.digest), blob.data);
          expect((await collectOn(collector, log)).deleted).toEqual([]);
        }),
      );
    }

    test(
      "a run past its deadline deletes nothing more and says so",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const log = new MapReferenceLog();
        const garbage = await stored(a);
        const report = await collectOn(a, log, {
          deadlineMs: 100,
          onPhase: (phase) => (phase === "rechecked" ? sleep(200) : undefined),
        });
        expect(report).toMatchObject({ deleted: [], stoppedAtDeadline: true });
        expect(await a.blobs.has(garbage.digest)).toBe(true);
      }),
    );

    test(
      "a dead host's expired lease frees its blobs",
      withMedium(async (m) => {
        const [a, b] = [await m.host("host-a"), await m.host("host-b")];
        const log = new MapReferenceLog();
        const blob = await stored(a);
        const leases = openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 400 });
        await leases.hold([blob.digest]);
        expect(await collectOn(b, log)).toMatchObject({ leased: 1, deleted: [] });
        a.kill();
        await sleep(500);
        const report = await collectOn(b, log);
        expect(report.deleted.map(String)).toEqual([blob.digest.toString()]);
        expect(await b.blobs.has(blob.digest)).toBe(false);
      }),
    );

    test(
      "a collector that died pending holds writers only until its deadline; the next run sweeps it and stale claims",
      withMedium(async (m) => {
        const [a, b] = [await m.host("host-a"), await m.host("host-b")];
        const log = new MapReferenceLog();
        const blob = await stored(b);
        // host-a dies mid-collection, after publishing its candidates, with a 400 ms deadline.
        const died = collectOn(a, log, {
          deadlineMs: 400,
          onPhase: (phase) => {
            if (phase === "published") a.kill();
          },
        });
        await expect(died).rejects.toThrow("host killed");
        // ... and an upload claim, left by a host that died uploading.
        const c = await m.host("host-c");
        const other = randomDigest();
        const stuck = ensureBlob(c, other, () => new Promise<void>(() => {}), { claimTimeoutMs: 200, settleMs: 20 }).catch(() => undefined);
        while ((await b.metadata.list("ingest")).length === 0) await sleep(10);
        c.kill();
        void stuck;

        const started = Date.now();
        expect(await ensureBlob(b, blob.digest, async () => {}, { clockSkewMs: 0 })).toBe("present");
        expect(Date.now() - started).toBeLessThan(2_000);
        await sleep(300);
        const report = await collectOn(b, log);
        expect(report.deleted.map(String)).toEqual([blob.digest.toString()]);
        // host-a's dead run and host-c's expired claim are gone; host-b's own run is done.
        expect(await b.metadata.list("ingest")).toEqual([]);
        const runs = await b.metadata.list("gc");
        expect(runs.every((k) => k.includes("host-b"))).toBe(true);
      }),
    );

    test(
      "bad input: a damaged lease stops the collection with one clear line and nothing is deleted",
      withMedium(async (m) => {
        const a = await m.host("host-a");
        const log = new MapReferenceLog();
        const garbage = await stored(a);
        await a.metadata.putIfAbsent("leases/broken", new TextEncoder().encode("{not json"));
        const run = collectOn(a, log);
        await expect(run).rejects.toMatchObject({ code: "ERR_SHARED_CORRUPT", kind: "dataLoss" });
        const message = await run.catch((e: Error) => e.message);
        expect(message).toMatch(/^shared record "leases\/broken" is damaged or not ours: not JSON/);
        expect(message).not.toContain("\n");
        expect(await a.blobs.has(garbage.digest)).toBe(true);
        expect(await a.metadata.list("gc")).toEqual([]);
        await expect(collectOn({ ...a, hostId: "" }, log)).rejects.toMatchObject({
          code: "ERR_SHARED_INVALID_OPTIONS",
        });
        await expect(collectOn(a, log, { graceMs: -1 })).rejects.toMatchObject({
          code: "ERR_SHARED_INVALID_OPTIONS",
        });
        expect(() => openHostLeases({ store: a.metadata, hostId: "host-a", ttlMs: 100, renewMs: 200 })).toThrow(
          /renewMs \(200\) must be shorter than ttlMs \(100\)/,
        );
        expect(await a.blobs.has(garbage.digest)).toBe(true);
      }),
    );
  });
}
