import { createHash } from "node:crypto";
import { isStoreError } from "@store/errors";
import { MetadataErrorCode, type MetadataStore } from "@store/metadata";
import { sleep } from "@store/internal";
import { afterEach, describe, expect, test } from "vitest";
import {
  type OpenReferenceLogOptions,
  type ReferenceLog,
  type SharedImageRecord,
  type SharedState,
  SharedTierErrorCode,
  openReferenceLog,
  watchReferenceLog,
} from "../src/index";

/** Where the suite runs: stores on one shared location, each as another host would open it. */
export interface ReferenceLogFixture {
  /** A store on the location shared by the case's hosts (a new connection where the medium has them). */
  openStore(): Promise<MetadataStore>;
  /** Removes what the case wrote. */
  cleanup(): Promise<void>;
}

/**
 * The ReferenceLog suite: every case on a fresh location from `factory`, two to five "hosts"
 * (logs on stores of their own) per case. `mode` is what the stores' capabilities must select.
 */
export function referenceLogSuite(name: string, mode: ReferenceLog["mode"], factory: () => Promise<ReferenceLogFixture>): void {
  describe(`ReferenceLog on ${name} (${mode})`, () => {
    let fixture: Promise<ReferenceLogFixture> | undefined;
    const stores: MetadataStore[] = [];
    const stoppers: (() => Promise<void>)[] = [];

    afterEach(async () => {
      for (const stop of stoppers.splice(0)) await stop();
      await (await fixture)?.cleanup();
      for (const store of stores.splice(0)) await store.close();
      fixture = undefined;
    });

    /** A log for a new host on the case's location. */
    const host = async (hostId: string, options: Partial<OpenReferenceLogOptions> = {}) => {
      // One location per case, however many hosts open it at once.
      fixture ??= factory();
      const store = await (await fixture).openStore();
      stores.push(store);
      return { log: openReferenceLog({ store, hostId, ...options }), store };
    };

    test("a change appended on one host is read by another, both ways, in the mode the store's capabilities select", async () => {
      const { log: a } = await host("host-a");
      const { log: b } = await host("host-b");
      expect(a.mode).toBe(mode);
      expect((await b.refresh()).position).toBe("");
      const busybox = image("busybox");
      await a.append([
        { op: "image", image: busybox },
        { op: "tag", reference: "docker.io/library/busybox:latest", image: busybox.id },
      ]);
      expect(a.current().references.get("docker.io/library/busybox:latest")).toBe(busybox.id);
      const seen = await b.refresh();
      expect(seen.images.get(busybox.id)).toEqual(busybox);
      expect(seen.references.get("docker.io/library/busybox:latest")).toBe(busybox.id);
      expect(b.current()).toBe(seen);
      await b.append([{ op: "untag", reference: "docker.io/library/busybox:latest" }]);
      expect((await a.refresh()).references.size).toBe(0);
      expect(a.current().position).toBe(b.current().position);
      expect(a.current().images.size).toBe(1);
    });

    test("the changes' semantics hold through the log: tag before image, untag of nothing, delete-image", async () => {
      const { log: a } = await host("host-a");
      const { log: b } = await host("host-b");
      const [x, y] = [image("x"), image("y")];
      await a.append([{ op: "tag", reference: "r/x:1", image: x.id }]);
      await b.append([{ op: "untag", reference: "r/never:1" }]);
      await a.append([
        { op: "image", image: x },
        { op: "image", image: y },
        { op: "tag", reference: "r/x:2", image: x.id },
        { op: "tag", reference: "r/y:1", image: y.id },
      ]);
      await b.append([
        { op: "untag", reference: "r/x:1" },
        { op: "untag", reference: "r/x:2" },
        { op: "delete-image", image: x.id },
      ]);
      for (const log of [a, b]) {
        const state = await log.refresh();
        expect([...state.images.keys()]).toEqual([y.id]);
        expect([...state.references]).toEqual([["r/y:1", y.id]]);
      }
    });

    test("4 writers × 50 appends at once: every change on every reader, the same state and the same order everywhere", async () => {
      const writers = await Promise.all([0, 1, 2, 3].map((w) => host(`writer-${w}`)));
      await Promise.all(
        writers.map(async ({ log }, w) => {
          for (let i = 0; i < 50; i++) {
            // Every writer also moves one contested reference: the last record in the order decides it.
            await log.append([
              { op: "tag", reference: `r/w${w}:${i}`, image: `sha256:${w}-${i}` },
              { op: "tag", reference: "r/contested:latest", image: `sha256:${w}-${i}` },
            ]);
          }
        }),
      );
      const { log: fresh } = await host("reader");
      const states = await Promise.all([...writers.map((w) => w.log), fresh].map((log) => log.refresh()));
      for (const state of states) {
        expect(state.references.size).toBe(201);
        for (let w = 0; w < 4; w++) for (let i = 0; i < 50; i++) expect(state.references.get(`r/w${w}:${i}`)).toBe(`sha256:${w}-${i}`);
        expect(state.position).toBe(states[0]!.position);
        expect(state.references.get("r/contested:latest")).toBe(states[0]!.references.get("r/contested:latest"));
      }
      // The same order: the contested reference ends where the last record of the log puts it.
      const names = await writers[0]!.store.list("refs/log");
      expect(names).toHaveLength(200);
      const last = await writers[0]!.store.get(names[names.length - 1]!);
      const lastChanges = JSON.parse(new TextDecoder().decode(last!.data)).changes as { reference: string; image: string }[];
      expect(states[0]!.references.get("r/contested:latest")).toBe(lastChanges[1]!.image);
      expect(names[names.length - 1]).toBe(`refs/log/${states[0]!.position}`);
    });

    test("a fresh host starts from the newest snapshot (the records it covers are gone) and reads the log after it", async () => {
      const window = { pollWindowMs: 400, retentionMs: 0 };
      const { log: a, store } = await host("host-a", window);
      for (let i = 0; i < 5; i++) await a.append([{ op: "tag", reference: `r/s:${i}`, image: `sha256:${i}` }]);
      if (mode === "ordered-records") await sleep(500); // compaction never covers the last pollWindowMs
      await a.compact();
      const snapshots = await store.list("refs/snapshots");
      expect(snapshots).toEqual([`refs/snapshots/${a.current().position}`]);
      expect(await store.list("refs/log")).toEqual([]);
      await a.append([{ op: "tag", reference: "r/s:after", image: "sha256:after" }]);
      const { log: fresh } = await host("host-fresh", window);
      const state = await fresh.refresh();
      expect(state.references.size).toBe(6);
      expect(state.references.get("r/s:after")).toBe("sha256:after");
      expect(state.position).toBe(a.current().position);
      // A second compaction supersedes the first snapshot: one snapshot, same bytes from any host.
      if (mode === "ordered-records") await sleep(500);
      await fresh.compact();
      await a.compact();
      expect(await store.list("refs/snapshots")).toEqual([`refs/snapshots/${a.current().position}`]);
    });

    test("compaction keeps records younger than the retention; a reader behind past it starts again from the snapshot", async () => {
      const window = { pollWindowMs: 400 };
      const { log: a, store } = await host("host-a", window);
      // Default retention: a reader behind still finds every record.
      const { log: patient } = await host("host-patient", window);
      // No retention: its records are gone, the snapshot is all that is left.
      const { log: behind } = await host("host-behind", { ...window, retentionMs: 0 });
      await a.append([{ op: "tag", reference: "r/c:0", image: "sha256:0" }]);
      await Promise.all([patient.refresh(), behind.refresh()]);
      for (let i = 1; i < 6; i++) await a.append([{ op: "tag", reference: `r/c:${i}`, image: `sha256:${i}` }]);
      if (mode === "ordered-records") await sleep(500);
      await a.compact();
      expect(await store.list("refs/log")).toHaveLength(6);
      expect((await patient.refresh()).references.size).toBe(6);
      const compactor = openReferenceLog({ store, hostId: "host-compactor", ...window, retentionMs: 0 });
      await compactor.compact();
      expect(await store.list("refs/log")).toEqual([]);
      const state = await behind.refresh();
      expect(state.references.size).toBe(6);
      expect(state.position).toBe(a.current().position);
      await a.append([{ op: "untag", reference: "r/c:0" }]);
      expect((await behind.refresh()).references.size).toBe(5);
      expect((await patient.refresh()).references.size).toBe(5);
    });

    test("a record that does not parse stops readers before it, then is reported once and skipped; nothing after it is lost; strays are ignored", async () => {
      const warnings: unknown[] = [];
      const { log: a, store } = await host("host-a", { corruptAfterMs: 300 });
      const { log: b } = await host("host-b", { corruptAfterMs: 300, onWarning: (w) => warnings.push(w) });
      await a.append([{ op: "tag", reference: "r/u:before", image: "sha256:before" }]);
      await b.refresh();
      await sleep(5); // ordered records: the garbage's name sorts after host-a's first record and before its second
      const garbage =
        mode === "compare-and-swap" ? String(Number(a.current().position) + 1).padStart(16, "0") : `${String(Date.now()).padStart(13, "0")}-stranger-000000`;
      await store.putIfAbsent(`refs/log/${garbage}`, new TextEncoder().encode('{"v":1,"host":"half-writ'));
      // A stranger's object under a name no host writes: reported once, never in the way.
      await store.putIfAbsent("refs/log/stray", new TextEncoder().encode("{}"));
      await sleep(5);
      // In compare-and-swap mode host-a's append waits out the bound itself: the number is taken.
      await a.append([{ op: "tag", reference: "r/u:after", image: "sha256:after" }]);
      // Readers wait before the unparseable record: a half-written object may still become whole.
      const waiting = await b.refresh();
      expect(waiting.references.has("r/u:after")).toBe(false);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: SharedTierErrorCode.Corrupt, message: expect.stringContaining("refs/log/stray") });
      await sleep(350);
      const state = await b.refresh();
      expect(state.references.get("r/u:before")).toBe("sha256:before");
      expect(state.references.get("r/u:after")).toBe("sha256:after");
      await b.refresh();
      expect(warnings).toHaveLength(2);
      expect(warnings[1]).toMatchObject({ code: SharedTierErrorCode.Corrupt, message: expect.stringContaining(`refs/log/${garbage}`) });
    });

    test("a snapshot that does not parse is reported once and an older one used", async () => {
      const warnings: unknown[] = [];
      const { log: a, store } = await host("host-a", { pollWindowMs: 400 });
      await a.append([{ op: "tag", reference: "r/snap:1", image: "sha256:1" }]);
      await a.append([{ op: "tag", reference: "r/snap:2", image: "sha256:2" }]);
      if (mode === "ordered-records") await sleep(500);
      await a.compact();
      const after =
        mode === "compare-and-swap" ? String(Number(a.current().position) + 5).padStart(16, "0") : `${String(Date.now() + 60_000).padStart(13, "0")}-x-000000`;
      await store.putIfAbsent(`refs/snapshots/${after}`, new TextEncoder().encode('{"v":1,"position":'));
      const { log: fresh } = await host("host-fresh", { onWarning: (w) => warnings.push(w) });
      const state = await fresh.refresh();
      expect([...state.references.keys()]).toEqual(["r/snap:1", "r/snap:2"]);
      expect(state.position).toBe(a.current().position);
      await fresh.refresh();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatchObject({ code: SharedTierErrorCode.Corrupt, message: expect.stringContaining(`refs/snapshots/${after}`) });
    });

    test("watch: another host's change shows within a second; stop ends it", async () => {
      const { log: a } = await host("host-a");
      const { log: b } = await host("host-b");
      await b.refresh();
      const changes: SharedState[] = [];
      const watch = watchReferenceLog(b, 50, (state) => changes.push(state));
      stoppers.push(() => watch.stop());
      const started = Date.now();
      await a.append([{ op: "tag", reference: "r/w:1", image: "sha256:w" }]);
      while (changes.length === 0 && Date.now() - started < 1000) await sleep(20);
      expect(changes.at(-1)?.references.get("r/w:1")).toBe("sha256:w");
      await watch.stop();
      const count = changes.length;
      await a.append([{ op: "tag", reference: "r/w:2", image: "sha256:w" }]);
      await sleep(150);
      expect(changes).toHaveLength(count);
    });

    test("bad input gets a clear error and writes nothing", async () => {
      const { log: a, store } = await host("host-a");
      await expect(a.append([])).rejects.toMatchObject({ code: SharedTierErrorCode.InvalidOptions });
      await expect(a.append([{ op: "rename", reference: "x" } as never])).rejects.toMatchObject({
        code: SharedTierErrorCode.InvalidOptions,
        message: expect.stringContaining("rename"),
      });
      await expect(a.append([{ op: "tag", reference: "x" } as never])).rejects.toMatchObject({ code: SharedTierErrorCode.InvalidOptions });
      expect(() => openReferenceLog({ store, hostId: "a/b" })).toThrow(/invalid host ID "a\/b"/);
      expect(() => openReferenceLog({ store, hostId: "" })).toThrow(expect.objectContaining({ code: SharedTierErrorCode.InvalidOptions }));
      expect(() => openReferenceLog({ store, hostId: "h", pollWindowMs: -1 })).toThrow(/pollWindowMs/);
      if (!store.capabilities.conditional) {
        expect(() => openReferenceLog({ store, hostId: "h", mode: "compare-and-swap" })).toThrow(/compare-and-swap needs/);
      }
      expect(await store.list("refs")).toEqual([]);
    });

    if (mode === "compare-and-swap") {
      test("a writer stalled between its read and its put, whose number was used and compacted away meanwhile, writes again: nothing lost", async () => {
        const { log: b } = await host("host-b", { retentionMs: 0 });
        const stall = stallingStore(await (await fixture)!.openStore());
        stores.push(stall.store);
        const a = openReferenceLog({ store: stall.store, hostId: "host-a", retentionMs: 400 });
        await a.append([{ op: "tag", reference: "r/stall:0", image: "sha256:0" }]);
        const gate = stall.arm();
        const appending = a.append([{ op: "tag", reference: "r/stall:a", image: "sha256:a" }]);
        const taken = await gate.reached; // host-a is about to claim the number after r/stall:0
        await b.append([{ op: "tag", reference: "r/stall:1", image: "sha256:1" }]);
        await b.append([{ op: "tag", reference: "r/stall:2", image: "sha256:2" }]);
        await b.compact(); // removes the record host-a is about to claim again
        expect(await stall.store.get(taken)).toBeUndefined();
        await sleep(250);
        gate.release();
        await appending;
        // create-if-absent forgot the removed name (SlateDB RFC 0026): the record written there was taken back.
        expect(await stall.store.get(taken)).toBeUndefined();
        const { log: fresh } = await host("host-fresh");
        for (const log of [a, b, fresh]) {
          const state = await log.refresh();
          expect([...state.references.keys()].sort()).toEqual(["r/stall:0", "r/stall:1", "r/stall:2", "r/stall:a"]);
          expect(state.position).toBe(a.current().position);
        }
      });
    }

    if (mode === "ordered-records") {
      test("a writer whose PUT stalled past half the window writes its record again under a later name: every host agrees", async () => {
        const window = { pollWindowMs: 400 };
        const warnings: unknown[] = [];
        const { log: b } = await host("host-b", { ...window, onWarning: (w) => warnings.push(w) });
        const { log: c } = await host("host-c", window);
        const stall = stallingStore(await (await fixture)!.openStore());
        stores.push(stall.store);
        const a = openReferenceLog({ store: stall.store, hostId: "host-a", ...window });
        const gate = stall.arm();
        const appending = a.append([
          { op: "tag", reference: "r/stall:contested", image: "sha256:a" },
          { op: "tag", reference: "r/stall:a", image: "sha256:a" },
        ]);
        const named = await gate.reached;
        await c.append([{ op: "tag", reference: "r/stall:contested", image: "sha256:c" }]);
        await b.refresh();
        await sleep(500);
        await b.refresh(); // host-c's record is now older than the window: host-b will not reorder before it
        gate.release();
        await appending;
        expect(await stall.store.get(named)).toBeUndefined();
        const { log: fresh } = await host("host-fresh", window);
        for (const log of [a, b, c, fresh]) {
          const state = await log.refresh();
          expect(state.references.get("r/stall:a")).toBe("sha256:a");
          expect(state.references.get("r/stall:contested")).toBe("sha256:a");
        }
        expect(warnings).toEqual([]);
      });

      test("a record that shows up late with an earlier name takes its place in the order on every reader", async () => {
        const { log: a, store } = await host("host-a");
        const { log: b } = await host("host-b");
        await a.append([{ op: "tag", reference: "r/late:contested", image: "sha256:from-a" }]);
        await b.refresh();
        // As a host whose clock is 5 s behind, or whose PUT was slow, would have written it.
        const late = `${String(Date.now() - 5000).padStart(13, "0")}-host-slow-000000`;
        const body = {
          v: 1,
          host: "host-slow",
          at: new Date().toISOString(),
          changes: [
            { op: "tag", reference: "r/late:contested", image: "sha256:from-slow" },
            { op: "tag", reference: "r/late:own", image: "sha256:from-slow" },
          ],
        };
        await store.putIfAbsent(`refs/log/${late}`, new TextEncoder().encode(JSON.stringify(body)));
        const { log: fresh } = await host("host-fresh");
        for (const log of [a, b, fresh]) {
          const state = await log.refresh();
          expect(state.references.get("r/late:own")).toBe("sha256:from-slow");
          // host-a's record sorts after the late one, so it still decides the contested reference.
          expect(state.references.get("r/late:contested")).toBe("sha256:from-a");
        }
      });
    }
  });
}

/**
 * `store` whose putIfAbsent, once armed, waits until released, as a writer paused by a GC, a
 * suspended VM or a slow network would; `reached` resolves with the key it is about to write.
 */
function stallingStore(store: MetadataStore): { store: MetadataStore; arm(): { reached: Promise<string>; release: () => void } } {
  let gate: { reached: (key: string) => void; released: Promise<void> } | undefined;
  const stalled = new Proxy(store, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (property !== "putIfAbsent") return typeof value === "function" ? value.bind(target) : value;
      return async (key: string, data: Uint8Array) => {
        const armed = gate;
        gate = undefined;
        if (armed) {
          armed.reached(key);
          await armed.released;
        }
        return target.putIfAbsent(key, data);
      };
    },
  });
  return {
    store: stalled,
    arm() {
      let reached!: (key: string) => void;
      let release!: () => void;
      const reachedPromise = new Promise<string>((resolve) => (reached = resolve));
      gate = { reached, released: new Promise<void>((resolve) => (release = resolve)) };
      return { reached: reachedPromise, release };
    },
  };
}

/** A SharedImageRecord for tests, its ID derived from `name`. */
export function image(name: string): SharedImageRecord {
  const hex = (s: string) => createHash("sha256").update(s).digest("hex");
  return {
    id: `sha256:${hex(`config ${name}`)}`,
    manifest: { digest: `sha256:${hex(`manifest ${name}`)}`, mediaType: "application/vnd.docker.distribution.manifest.v2+json", size: 527 },
    configSize: 1457,
    layers: [
      {
        digest: `sha256:${hex(`layer ${name}`)}`,
        mediaType: "application/vnd.docker.image.rootfs.diff.tar.gzip",
        size: 2_000,
        diffId: `sha256:${hex(`diff ${name}`)}`,
      },
    ],
    size: 4_000,
    created: "2026-01-01T00:00:00Z",
    os: "linux",
    architecture: "amd64",
  };
}

/** Removes every record of `store` (tests' cleanup). */
export async function removeRecords(store: MetadataStore): Promise<void> {
  for (const key of await store.list("")) {
    try {
      await store.delete(key);
    } catch (e) {
      if (!isStoreError(e, MetadataErrorCode.Conflict)) throw e;
    }
  }
}
