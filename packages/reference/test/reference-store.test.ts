import { mkdtemp, readFile, rm, stat, utimes, writeFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { digestFromString } from "@store/digest";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { spawn, spawnSync } from "node:child_process";
import { ReferenceErrorCode, createReferenceStore, parseNormalizedNamed } from "../src/index";
import { InternalErrorCode, withFileLock } from "@store/internal";

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
    expect(await readFile(path, "utf8")).toBe(
      `{"Repositories":{"a":{"A:B":"${idA}","a:1":"sha256:nope","a:2":"${idA}"},"c":{"c:latest":"${idB}"}}}`,
    );
  });

  describe("several processes on one file", () => {
    it("loses no change when two stores on one file tag at the same time", async () => {
      // Two stores, as two `store tag` processes would have: separate memory, one file.
      const one = await createReferenceStore({ path });
      const two = await createReferenceStore({ path });
      await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? one : two).add(`app:${i}`, i % 3 === 0 ? idA : idB)));
      const fresh = await createReferenceStore({ path });
      expect(fresh.referencesByName("app").map((a) => a.ref.tag).sort()).toEqual(Array.from({ length: 20 }, (_, i) => String(i)).sort());
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
  });
});

