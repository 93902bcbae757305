import { existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { appendFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, isRoot, makeTar, store, tempDir } from "./helpers";

// Every command against one temp root, in-process. The overlay2 driver unpacks layers and
// mounts, which needs root (as CI runs).
describe.skipIf(!isRoot)("store commands on a temp root", () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  let root: string;
  let tar: Buffer;
  const run = (args: string[], options?: Parameters<typeof store>[1]): Promise<RunResult> => store(["--root", root, ...args], options);
  const ok = async (args: string[], options?: Parameters<typeof store>[1]): Promise<RunResult> => {
    const r = await run(args, options);
    expect(r.stderr, args.join(" ")).toBe("");
    expect(r.code, args.join(" ")).toBe(0);
    return r;
  };

  beforeAll(async () => {
    ({ dir, cleanup } = await tempDir());
    root = join(dir, "root");
    tar = await makeTar({ "etc/": "", "etc/motd": "hello from store\n", "bin/tool": "#!/bin/sh\necho tool\n" });
    await writeFile(join(dir, "rootfs.tar"), tar);
  });
  afterAll(async () => {
    // Unmount whatever a failed mount test left, then remove the root.
    await store(["--root", root, "unmount", "m1"]).catch(() => undefined);
    await cleanup();
  });

  it("creates the embedded root on first use, laid out like dockerd's", async () => {
    // No --root: the embedded default ($XDG_DATA_HOME/store here) is made by any command.
    const r = await store(["images"], { env: { XDG_DATA_HOME: join(dir, "xdg") } });
    expect([r.code, r.stderr, r.stdout]).toEqual([0, "", "REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n"]);
    const embedded = join(dir, "xdg", "store");
    expect((await readdir(embedded)).sort()).toEqual(["image", "overlay2"]);
    expect(await readFile(join(embedded, "image/overlay2/repositories.json"), "utf8")).toBe('{"Repositories":{}}');
  });

  it("imports a tarball from stdin and from a file as docker import does", async () => {
    const fromStdin = await ok(["import", "-", "app:1"], { stdin: tar });
    expect(fromStdin.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const id = fromStdin.stdout.trim();
    const config = JSON.parse(await readFile(join(root, "image/overlay2/imagedb/content/sha256", id.slice(7)), "utf8"));
    expect(Object.keys(config)).toEqual([...Object.keys(config)].sort());
    expect(config).toMatchObject({ comment: "Imported from -", os: "linux", rootfs: { type: "layers" }, history: [{ comment: "Imported from -" }] });
    expect(config.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
    expect(config.history[0].created).toBe(config.created);
    expect(config.config.Cmd).toBeNull();
    expect(config.rootfs.diff_ids).toHaveLength(1);

    const fromFile = await ok([
      "import",
      "-m",
      "second",
      "-c",
      'CMD ["sh"]',
      "-c",
      "ENV A=1 B=two",
      "--change",
      "LABEL x=y",
      "-c",
      "EXPOSE 80",
      "-c",
      "WORKDIR /srv",
      join(dir, "rootfs.tar"),
      "app:2",
    ]);
    const inspect = JSON.parse((await ok(["inspect", "app:2"])).stdout)[0];
    expect(inspect.Id).toBe(fromFile.stdout.trim());
    expect(inspect.Comment).toBe("second");
    expect(inspect.Config).toMatchObject({ Cmd: ["sh"], Env: ["A=1", "B=two"], Labels: { x: "y" }, ExposedPorts: { "80/tcp": {} }, WorkingDir: "/srv" });
    // Same layer, so the same diff ID (and one layer in the store).
    expect(inspect.RootFS.Layers).toEqual(config.rootfs.diff_ids);
    expect(inspect.RepoTags).toEqual(["app:2"]);
  });

  it("refuses a bad tag or --change before reading anything", async () => {
    expect((await run(["import", "-", "Bad:Name:x"], { stdin: tar })).code).toBe(1);
    const change = await run(["import", "-c", "FROB x", "-"], { stdin: tar });
    // docker reports a bad change as the daemon's error (exit 1), not a usage error.
    expect(change.code).toBe(1);
    expect(change.stderr).toMatch(/FROB is not a valid change command/);
    const missing = await run(["import", join(dir, "nope.tar")]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^store: .*nope\.tar/);
  });

  it("does not create a store for a command that only reads: a mistyped --root is an error", async () => {
    const typo = join(dir, "no", "such", "root");
    for (const args of [["images"], ["inspect", "x"], ["df"], ["verify"]]) {
      const r = await store(["--root", typo, ...args]);
      expect([r.code, r.stderr], args[0]).toEqual([1, `store: no store at ${typo}: it does not exist (load or import an image to create one)\n`]);
    }
    expect(existsSync(join(dir, "no"))).toBe(false);
  });

  it("names a file it cannot open in one line, as docker does, and changes nothing", async () => {
    const before = (await ok(["images", "-a", "-q"])).stdout;
    for (const [args, path] of [
      [["load", "-i", "/nonexistent/in.tar"], "/nonexistent/in.tar"],
      [["import", "/nonexistent/in.tar", "x:1"], "/nonexistent/in.tar"],
      [["save", "-o", "/nonexistent/dir/out.tar", "app:1"], "/nonexistent/dir/out.tar"],
    ] as const) {
      const r = await run([...args]);
      expect([r.code, r.stderr], args[0]).toEqual([1, `store: open ${path}: no such file or directory\n`]);
    }
    expect((await ok(["images", "-a", "-q"])).stdout).toBe(before);
  });

  it("lists images with docker's columns, -q, --no-trunc, --format json and templates", async () => {
    const table = (await ok(["images"])).stdout.split("\n");
    expect(table[0]).toMatch(/^REPOSITORY +TAG +IMAGE ID +CREATED +SIZE$/);
    expect(table.slice(1, 3).map((l) => l.split(/ {3,}/).slice(0, 2))).toEqual([
      ["app", "2"],
      ["app", "1"],
    ]);
    const quiet = (await ok(["images", "-q"])).stdout.trim().split("\n");
    expect(quiet).toHaveLength(2);
    for (const q of quiet) expect(q).toMatch(/^[0-9a-f]{12}$/);
    expect((await ok(["images", "-q", "--no-trunc"])).stdout).toMatch(/^sha256:[0-9a-f]{64}\n/);
    const rows = (await ok(["images", "--format", "json"])).stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(Object.keys(rows[0])).toEqual([
      "Containers",
      "CreatedAt",
      "CreatedSince",
      "Digest",
      "ID",
      "Repository",
      "SharedSize",
      "Size",
      "Tag",
      "UniqueSize",
      "VirtualSize",
    ]);
    expect(rows[0]).toMatchObject({ Containers: "N/A", Digest: "<none>", Repository: "app", SharedSize: "N/A", UniqueSize: "N/A" });
    expect(rows[0].CreatedSince).toMatch(/ago$/);
    expect(rows[0].CreatedAt).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/);
    expect((await ok(["images", "--format", "{{.Repository}}:{{.Tag}}"])).stdout).toBe("app:2\napp:1\n");
    expect((await ok(["images", "--format", "table {{.Tag}}\t{{.Size}}"])).stdout).toMatch(/^TAG +SIZE\n2 +\d+B\n1 +\d+B\n$/);
    expect((await ok(["images", "app:1", "--format", "{{.Tag}}"])).stdout).toBe("1\n");
    expect((await ok(["image", "ls", "--filter", "reference=app:2", "--format", "{{.Tag}}"])).stdout).toBe("2\n");
    expect((await ok(["images", "--digests"])).stdout.split("\n")[0]).toMatch(/^REPOSITORY +TAG +DIGEST +IMAGE ID +CREATED +SIZE$/);
    const bad = await run(["images", "--filter", "bogus=1"]);
    expect([bad.code, bad.stderr]).toEqual([1, "store: invalid filter 'bogus'\n"]);
    const badTemplate = await run(["images", "--format", "{{.Nope}}"]);
    expect(badTemplate.code).toBe(1);
  });

  it("tags, shows history and inspects with templates", async () => {
    await ok(["tag", "app:1", "other/name:v1"]);
    await ok(["image", "tag", "app:1", "localhost:5000/x"]);
    const tags = (await ok(["inspect", "-f", "{{json .RepoTags}}", "app:1"])).stdout;
    // Sorted by full name, as dockerd: docker.io/library/app, docker.io/other/name, localhost:5000/x.
    expect(JSON.parse(tags)).toEqual(["app:1", "other/name:v1", "localhost:5000/x:latest"]);
    const history = (await ok(["history", "app:1"])).stdout.split("\n");
    expect(history[0]).toMatch(/^IMAGE +CREATED +CREATED BY +SIZE +COMMENT$/);
    expect(history[1]).toMatch(/^[0-9a-f]{12} +.* ago +\d+B +Imported from -$/);
    const json = JSON.parse((await ok(["history", "--format", "json", "app:1"])).stdout);
    expect(Object.keys(json)).toEqual(["Comment", "CreatedAt", "CreatedBy", "CreatedSince", "ID", "Size"]);
    expect((await ok(["history", "-q", "--no-trunc", "app:1"])).stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
    const missing = await run(["inspect", "app:1", "nosuch"]);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toHaveLength(1);
    expect(missing.stderr).toBe("store: No such image: nosuch:latest\n");
    // What the user (or an archive, or a registry) supplied reaches the terminal escaped: an
    // ESC[2J in a name is printed as text, not obeyed.
    const hostile = await run(["load", "-i", join(dir, "\u001b[2Jno\u0007file")]);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).not.toContain("\u001b");
    expect(hostile.stderr).not.toContain("\u0007");
    expect(hostile.stderr).toContain("\\x1b[2Jno\\x07file: no such file or directory");
  });

  it.runIf(isRoot)("lists, inspects, saves and verifies a read-only copy of a root, writing nothing", async () => {
    const ro = join(dir, "read-only");
    await mkdir(ro);
    execFileSync("mount", ["--bind", root, ro]);
    try {
      execFileSync("mount", ["-o", "remount,bind,ro", ro]);
      const list = await store(["--root", ro, "images", "-q"]);
      expect([list.code, list.stderr]).toEqual([0, ""]);
      expect(list.stdout).toBe((await ok(["images", "-q"])).stdout);
      for (const args of [["inspect", "app:1"], ["history", "app:1"], ["verify"], ["df"], ["save", "-o", join(dir, "from-ro.tar"), "app:1"]]) {
        const r = await store(["--root", ro, ...args]);
        expect([r.code, r.stderr], args[0]).toEqual([0, ""]);
      }
    } finally {
      execFileSync("umount", [ro]);
    }
  });

  it("verifies every config and layer, and names what is corrupt", async () => {
    expect((await ok(["verify"])).stdout).toMatch(/^2 image configs, 1 layer checked: all verified\n$/);
    // Corrupt the layer's file on disk: same size, other bytes.
    const layerdb = join(root, "image/overlay2/layerdb/sha256");
    const [chain] = await readdir(layerdb);
    const cacheId = (await readFile(join(layerdb, chain!, "cache-id"), "utf8")).trim();
    const motd = join(root, "overlay2", cacheId, "diff/etc/motd");
    const original = await readFile(motd);
    await writeFile(motd, "HELLO FROM STORE\n");
    try {
      const r = await run(["verify"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(
        new RegExp(`^corrupt: layer sha256:${chain} \\(diff sha256:[0-9a-f]+, used by .*app:1, other/name:v1, localhost:5000/x:latest \\([0-9a-f]{12}\\)`, "m"),
      );
      expect(r.stdout).toMatch(/1 problem\n$/);
    } finally {
      await writeFile(motd, original);
    }
    // Corrupt a config: appended bytes no longer hash to its name.
    const content = join(root, "image/overlay2/imagedb/content/sha256");
    const app2 = JSON.parse((await ok(["inspect", "app:2"])).stdout)[0].Id.slice(7);
    const before = await readFile(join(content, app2));
    await appendFile(join(content, app2), " ");
    try {
      const r = await run(["verify"]);
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(new RegExp(`corrupt: image app:2 \\(${app2.slice(0, 12)}\\): config sha256:${app2}: `));
    } finally {
      await writeFile(join(content, app2), before);
    }
    await ok(["verify"]);
  });

  it("reports disk usage like docker system df", async () => {
    const df = (await ok(["df"])).stdout.split("\n");
    expect(df[0]).toMatch(/^TYPE +TOTAL +ACTIVE +SIZE +RECLAIMABLE$/);
    expect(df[1]).toMatch(/^Images +2 +0 +\S+ +\S+ \(100%\)$/);
    expect(df[2]).toMatch(/^Layers +1 +1 +/);
    const verbose = (await ok(["system", "df", "-v"])).stdout;
    expect(verbose).toMatch(/^Images space usage:\n\nREPOSITORY +TAG +IMAGE ID +CREATED +SIZE +SHARED SIZE +UNIQUE SIZE +CONTAINERS\n/);
    expect(verbose).toContain("Layers space usage:");
  });

  it.runIf(isRoot)("mounts an image read-write and unmounts it; rmi refuses a mounted image", async () => {
    const m = await run(["mount", "--name", "m1", "app:1"]);
    expect(m.code).toBe(0);
    expect(m.stderr).toBe("mounted app:1 as m1; 'store unmount m1' removes it\n");
    const merged = m.stdout.trim();
    expect(await readFile(join(merged, "etc/motd"), "utf8")).toBe("hello from store\n");
    await writeFile(join(merged, "new-file"), "written\n");
    expect((await ok(["mount"])).stdout).toMatch(/^NAME +LAYER ID +MERGED\nm1 +/);
    const mountedId = (await ok(["images", "-q", "--no-trunc", "app:1"])).stdout.trim();
    const refused = await run(["rmi", "-f", mountedId]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^store: conflict: unable to delete [0-9a-f]{12} \(cannot be forced\) - image is being used by running container m1\n$/);
    const rmi = await run(["rmi", "-f", "app:1"]); // by name: untags only
    expect(rmi.code).toBe(0);
    await ok(["tag", (await ok(["images", "-q", "--no-trunc", "app:2"])).stdout.trim(), "app:1"]);
    const df = (await ok(["df"])).stdout;
    expect(df).toMatch(/Mounts +1 +1 +/);
    expect((await run(["mount", "--name", "m1", "app:1"])).code).toBe(1);
    await ok(["unmount", "m1"]);
    await expect(readFile(join(merged, "etc/motd"))).rejects.toThrow();
    expect((await run(["unmount", "m1"])).stderr).toBe("store: No such mount: m1\n");
  });

  it("removes images with docker's Untagged:/Deleted: lines and rules", async () => {
    const ids = (await ok(["images", "-q", "--no-trunc"])).stdout.trim().split("\n");
    const conflict = await run(["rmi", ids[0]!.slice(7, 19)]);
    expect(conflict.code).toBe(1);
    expect(conflict.stderr).toMatch(/^store: conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories\n$/);
    const untag = await ok(["rmi", "other/name:v1"]);
    expect(untag.stdout).toBe("Untagged: other/name:v1\n");
    const several = await run(["rmi", "localhost:5000/x", "nosuch"]);
    expect(several.code).toBe(1);
    // Its last reference gone, the image (the first import, untagged by the mount test) goes too.
    expect(several.stdout).toMatch(/^Untagged: localhost:5000\/x:latest\nDeleted: sha256:[0-9a-f]{64}\n$/);
    expect(several.stderr).toBe("store: No such image: nosuch:latest\n");
  });

  it("prunes only with -f or a confirmation on a terminal", async () => {
    const refused = await run(["image", "prune", "-a"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/^store: WARNING! .*pass -f/);
    const declined = await run(["image", "prune", "-a"], { stdinTTY: true, stdin: "n\n" });
    expect(declined.code).toBe(0);
    expect(declined.stdout).toMatch(/Are you sure you want to continue\? \[y\/N\] $/);
    expect((await ok(["images", "-q"])).stdout).not.toBe("");
    expect((await ok(["image", "prune", "-f"])).stdout).toBe("Total reclaimed space: 0B\n");
    const pruned = (await ok(["image", "prune", "-a", "-f"])).stdout;
    expect(pruned).toMatch(/^Deleted Images:\n(untagged: app:[12]\n)+(deleted: sha256:[0-9a-f]{64}\n)+\nTotal reclaimed space: \S+B\n$/);
    expect((await ok(["images", "-qa"])).stdout).toBe("");
    expect((await readdir(join(root, "image/overlay2/layerdb/sha256"))).length).toBe(0);
  });
});
