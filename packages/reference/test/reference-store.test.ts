import { mkdtemp, readFile, rm, stat, utimes, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestFromString } from "@store/digest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { ReferenceErrorCode, createReferenceStore, parseNormalizedNamed } from "../src/index";
import { InternalErrorCode, withFileLock } from "@store/internal";
import { MemoryMetadataDriver, MetadataErrorCode, createFsMetadataStore, createMemoryMetadataStore, createMetadataStore } from "@store/metadata";
import { bundleFixture } from "@store/test-support";

const idA = digestFromString("image a");
const idB = digestFromString("image b");
const dgst = digestFromString("manifest");

let dir: string;
let path: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "refstore-"));
  path = join(dir, "image", "overlay2", "repositories.json");
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("reference store", () => {
  it("creates an empty repositories.json like dockerd, 0600", async () => {
    await createReferenceStore({ path });
    expect(await readFile(path, "utf8")).toBe('{"Repositories":{}}');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("writes dockerd's exact bytes: familiar names, sorted keys, compact", async () => {
    const refs = await createReferenceStore({ path });
    await refs.add("busybox", idA);
    await refs.add(`docker.io/library/busybox@${dgst}`, idA);
    await refs.add("localhost:5000/a/b:t", idB);
    await refs.add("10", idB); // integer-like names sort as text (JSON.stringify would put them first)
    await refs.add("9:x", idB);
    await refs.add("user/app:1", idB);
    expect(await readFile(path, "utf8")).toBe(
      `{"Repositories":{` +
        `"10":{"10:latest":"${idB}"},` +
        `"9":{"9:x":"${idB}"},` +
        `"busybox":{"busybox:latest":"${idA}","busybox@${dgst}":"${idA}"},` +
        `"localhost:5000/a/b":{"localhost:5000/a/b:t":"${idB}"},` +
        `"user/app":{"user/app:1":"${idB}"}}}`,
    );
    expect((await readdir(join(dir, "image", "overlay2"))).filter((n) => n.startsWith(".tmp-"))).toEqual([]);
  });

  it("moves a tag only with force, never overwrites a digest, stores tag+digest as digest", async () => {
    const refs = await createReferenceStore({ path });
    await refs.add("app:1", idA);
    await expect(refs.add("app:1", idB)).rejects.toMatchObject({ code: ReferenceErrorCode.Conflict });
    await expect(refs.add("app:1", idB)).rejects.toThrow(`Conflict: Tag app:1 is already set to image ${idA}`);
    await refs.add("app:1", idB, true);
    expect(refs.get("app:1")).toEqual(idB);
    expect(refs.references(idA)).toEqual([]);
    await refs.add(`app@${dgst}`, idA);
    await expect(refs.add(`app@${dgst}`, idB, true)).rejects.toThrow(`Cannot overwrite digest ${dgst}`);
    await refs.add(`app:2@${dgst}`, idA); // same digest, same image: nothing changes
    expect(refs.get(`app:9@${dgst}`)).toEqual(idA);
    await expect(refs.add("sha256:x", idA)).rejects.toMatchObject({ code: ReferenceErrorCode.Invalid });
    expect(() => refs.get("nope")).toThrow(expect.objectContaining({ code: ReferenceErrorCode.NotFound }));
    await expect(refs.add("Bad", idA)).rejects.toMatchObject({ code: ReferenceErrorCode.Invalid });
  });

  it("takes an image ID as a Digest or its text; a bad ID is refused naming it, and nothing is lost", async () => {
    const refs = await createReferenceStore({ path });
    await refs.add("app:1", idA.toString());
    expect(refs.references(idA.toString()).map((r) => r.familiar)).toEqual(["app:1"]);
    const before = await readFile(path, "utf8");
    await expect(refs.add("app:2", "sha256:nothex")).rejects.toMatchObject({ kind: "invalid", message: expect.stringContaining("sha256:nothex") });
    await expect(refs.add("app:1", "nope", true)).rejects.toMatchObject({ kind: "invalid" });
    expect(await readFile(path, "utf8")).toBe(before);
    expect((await createReferenceStore({ path })).get("app:1")).toEqual(idA);
  });

  it("lists references sorted by full name, and by repository", async () => {
    const refs = await createReferenceStore({ path });
    await refs.add("zed/x:1", idA);
    await refs.add("example.com/a:1", idA);
    await refs.add("busybox:2", idA);
    await refs.add("busybox:10", idA);
    // full strings: docker.io/library/busybox:10 < …:2 < docker.io/zed/x:1 < example.com/a:1
    expect(refs.references(idA).map((r) => r.familiar)).toEqual(["busybox:10", "busybox:2", "zed/x:1", "example.com/a:1"]);
    expect(refs.referencesByName("busybox").map((a) => [a.ref.familiar, a.id.toString()])).toEqual([
      ["busybox:10", idA.toString()],
      ["busybox:2", idA.toString()],
    ]);
    expect(refs.referencesByName(parseNormalizedNamed("nothing"))).toEqual([]);
  });

  it("deletes references, dropping empty repositories, and reloads what it wrote", async () => {
    const refs = await createReferenceStore({ path });
    await refs.add("a:1", idA);
    await refs.add("a:2", idA);
    await refs.add("b", idB);
    expect(await refs.delete("b")).toBe(true);
    expect(await refs.delete("b")).toBe(false);
    expect(await refs.delete("a:1")).toBe(true);
    const again = await createReferenceStore({ path });
    expect(again.repositories()).toEqual(["a"]);
    expect(again.references(idA).map(String)).toEqual(["docker.io/library/a:2"]);
    expect(await readFile(path, "utf8")).toBe(`{"Repositories":{"a":{"a:2":"${idA}"}}}`);
  });

  it("refuses a corrupt file without touching it, and keeps odd entries it cannot parse", async () => {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(join(dir, "image", "overlay2"), { recursive: true });
    await writeFile(path, "{not json");
    await expect(createReferenceStore({ path })).rejects.toMatchObject({ code: ReferenceErrorCode.StoreCorrupt });
    expect(await readFile(path, "utf8")).toBe("{not json");
    await writeFile(path, `{"Repositories":{"a":{"a:1":"sha256:nope","A:B":"${idA}","a:2":"${idA}"}}}`);
    const refs = await createReferenceStore({ path });
    expect(refs.problems.map((p) => p.reference).sort()).toEqual(["A:B", "a:1"]);
    await refs.add("c", idB);
    expect(await readFile(path, "utf8")).toBe(`{"Repositories":{"a":{"A:B":"${idA}","a:1":"sha256:nope","a:2":"${idA}"},"c":{"c:latest":"${idB}"}}}`);
  });

  describe("several processes on one file", () => {
    it("loses no change when two stores on one file tag at the same time", async () => {
      // Two stores, as two `store tag` processes would have: separate memory, one file.
      const one = await createReferenceStore({ path });
      const two = await createReferenceStore({ path });
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).add(`app:${i}`, i % 3 === 0 ? idA : idB)));
      const fresh = await createReferenceStore({ path });
      expect(
        fresh
          .referencesByName("app")
          .map((a) => a.ref.tag)
          .sort(),
      ).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
      // Each store sees the other's tags once it changes something, and deletes do not resurrect.
      expect(await one.delete("app:1")).toBe(true); // written by `two`
      expect(await two.delete("app:0")).toBe(true); // written by `one`
      expect((await createReferenceStore({ path })).referencesByName("app")).toHaveLength(18);
      expect(await readdir(join(dir, "image", "overlay2"))).not.toContain("repositories.json.lock");
    });

    it("takes over a lock whose process is gone, and gives up on a live one with ERR_INTERNAL_LOCKED", async () => {
      const refs = await createReferenceStore({ path });
      const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]).stdout.toString();
      await writeFile(`${path}.lock`, `${dead}\n`);
      await refs.add("after:crash", idA);
      expect(refs.get("after:crash").toString()).toBe(idA.toString());

      // This process's own PID in a lock it does not hold: left by an earlier process with the
      // same PID (a container's PID 1), taken over too. So is a lock left empty for seconds.
      await writeFile(`${path}.lock`, `${process.pid}\n`);
      await refs.add("same:pid", idA);
      await writeFile(`${path}.lock`, "");
      await utimes(`${path}.lock`, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
      await refs.add("empty:lock", idA);

      const live = spawn("sleep", ["30"]);
      try {
        await writeFile(`${path}.lock`, `${live.pid}\n`);
        const error = await withFileLock(`${path}.lock`, async () => undefined, 200).catch((e: unknown) => e);
        expect(error).toMatchObject({ code: InternalErrorCode.Locked, message: expect.stringContaining(`${path}.lock is held by process ${live.pid}`) });
        const controller = new AbortController();
        setTimeout(() => controller.abort("SIGINT"), 50);
        expect(await withFileLock(`${path}.lock`, async () => undefined, 5_000, undefined, controller.signal).catch((e: unknown) => e)).toBe("SIGINT");
      } finally {
        live.kill();
        await rm(`${path}.lock`);
      }
    });
    it("loses no tag when several processes tag through the metadata store at once", { timeout: 120_000 }, async () => {
      const script = join(dir, "tag-worker.mjs");
      await bundleFixture(new URL("./fixtures/tag-worker.ts", import.meta.url), script);
      const run = (repo: string, id: string) =>
        new Promise<number | null>((resolve) => {
          const child = spawn(process.execPath, [script, path, repo, "8", id], { stdio: ["ignore", "ignore", "inherit"] });
          child.once("exit", resolve);
        });
      // Four processes, and this one through a store of its own on the same directory.
      const children = ["p0", "p1", "p2", "p3"].map((repo) => run(repo, idA.toString()));
      const mine = await createReferenceStore({ store: createFsMetadataStore({ root: join(dir, "image", "overlay2") }) });
      for (let i = 0; i < 8; i++) await mine.add(`mine:${i}`, idB);
      expect(await Promise.all(children)).toEqual([0, 0, 0, 0]);
      const fresh = await createReferenceStore({ path });
      expect(fresh.repositories()).toEqual(["mine", "p0", "p1", "p2", "p3"]);
      for (const repo of fresh.repositories()) expect(fresh.referencesByName(repo)).toHaveLength(8);
      expect(fresh.references(idA)).toHaveLength(32);
      // The bytes are dockerd's, whoever wrote last, and no lock or temp file is left.
      const expected = (repo: string, id: string) => `"${repo}":{${Array.from({ length: 8 }, (_, i) => `"${repo}:${i}":"${id}"`).join(",")}}`;
      expect(await readFile(path, "utf8")).toBe(
        `{"Repositories":{${[expected("mine", idB.toString()), ...["p0", "p1", "p2", "p3"].map((r) => expected(r, idA.toString()))].join(",")}}}`,
      );
      expect(await readdir(join(dir, "image", "overlay2"))).toEqual(["repositories.json"]);
    });
  });

  describe("over any metadata store", () => {
    it("keeps the tags as the record `key`, and a change made elsewhere is picked up on the next change", async () => {
      const store = createMemoryMetadataStore();
      const one = await createReferenceStore({ store, key: "tags/repositories.json" });
      const two = await createReferenceStore({ store, key: "tags/repositories.json" });
      await one.add("a", idA);
      await two.add("b", idB); // two's memory did not have a: the compare-and-swap makes it re-read
      expect(new TextDecoder().decode((await store.get("tags/repositories.json"))!.data)).toBe(
        `{"Repositories":{"a":{"a:latest":"${idA}"},"b":{"b:latest":"${idB}"}}}`,
      );
      expect(two.get("a")).toEqual(idA);
      // A refusal computed on fresh contents still brings memory up to date.
      await expect(one.add("b", idA)).rejects.toMatchObject({ code: ReferenceErrorCode.Conflict });
      expect(one.get("b")).toEqual(idB);
    });

    it("refuses to write through a store without compare-and-swap unless told to, and loses nothing", async () => {
      class Unconditional extends MemoryMetadataDriver {
        override readonly capabilities = { conditional: false, persistent: false, shared: false };
      }
      const driver = new Unconditional();
      const seeded = createMetadataStore(driver, { allowUnconditional: true });
      await seeded.putIfAbsent("repositories.json", new TextEncoder().encode(`{"Repositories":{"a":{"a:latest":"${idA}"}}}`));
      const before = (await seeded.get("repositories.json"))!;

      const refs = await createReferenceStore({ store: createMetadataStore(driver) });
      expect(refs.get("a")).toEqual(idA); // reading is fine
      const error = await refs.add("b", idB).catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: ReferenceErrorCode.WriteUnsupported,
        kind: "unsupported",
        message: expect.stringContaining("does not honour conditional writes"),
      });
      expect((error as Error).message).toContain("repositories.json");
      await expect(refs.delete("a")).rejects.toMatchObject({ code: ReferenceErrorCode.WriteUnsupported });
      expect((await seeded.get("repositories.json"))!.data).toEqual(before.data);
      expect(refs.get("a")).toEqual(idA);

      // Opting in on the reference store alone is not enough: the metadata store refuses too.
      const half = await createReferenceStore({ store: createMetadataStore(driver), allowUnconditional: true });
      await expect(half.add("b", idB)).rejects.toMatchObject({ code: MetadataErrorCode.Unsupported });
      // Both opted in: written (racy, as asked).
      const racy = await createReferenceStore({ store: seeded, allowUnconditional: true });
      await racy.add("b", idB);
      expect(new TextDecoder().decode((await seeded.get("repositories.json"))!.data)).toBe(
        `{"Repositories":{"a":{"a:latest":"${idA}"},"b":{"b:latest":"${idB}"}}}`,
      );
    });

    it("refuses a change over a record someone corrupted, leaving it as it is and memory as it was", async () => {
      const refs = await createReferenceStore({ path });
      await refs.add("a", idA);
      await writeFile(path, "{broken");
      await expect(refs.add("b", idB)).rejects.toMatchObject({ code: ReferenceErrorCode.StoreCorrupt, message: expect.stringContaining(path) });
      expect(await readFile(path, "utf8")).toBe("{broken");
      expect(refs.get("a")).toEqual(idA);
      expect(() => refs.get("b")).toThrow(expect.objectContaining({ code: ReferenceErrorCode.NotFound }));
    });
  });
});
