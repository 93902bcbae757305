import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type DockerdPeer, type RegistryPeer, dockerdSkipReason, registrySkipReason, startDockerd, startRegistry, writeDockerArchive } from "@store/test-peers";
import { buildTestImage, makeTar, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliResult, type TestDaemon, dockerClis, runCli, startTestDaemon } from "./helpers";

const skip = dockerdSkipReason() ?? registrySkipReason();

/** A table's cells without its CREATED column (it ticks between the two calls), rows sorted. */
function tableCells(text: string): string[] {
  const [header, ...rows] = text
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/ {2,}/));
  const created = header!.indexOf("CREATED");
  const drop = (cells: string[]) => (created < 0 ? cells : cells.filter((_, i) => i !== created)).join(" | ");
  return [drop(header!), ...rows.map(drop).sort()];
}

/** `docker image inspect` output without what differs by root: the driver's paths. */
function inspectView(text: string): unknown {
  const images = JSON.parse(text) as Record<string, unknown>[];
  return images.map(({ GraphDriver: _g, Metadata: _m, ...rest }) => rest);
}

describe.skipIf(skip)("both docker CLIs against stored print what they print against dockerd", () => {
  let peer: DockerdPeer;
  let ours: TestDaemon;
  let registry: RegistryPeer;
  let archivePath: string;
  let imageId: string;

  const theirs = (bin: string, args: readonly string[], input?: Uint8Array) => runCli(bin, args, peer.env, input);
  /** Runs one command on both sides; both must succeed unless `fails`. */
  async function both(bin: string, args: readonly string[], fails = false): Promise<[CliResult, CliResult]> {
    const [a, b] = await Promise.all([ours.docker(bin, args), theirs(bin, args)]);
    if (!fails) {
      expect(a.stderr, `stored: ${bin} ${args.join(" ")}`).toBe("");
      expect(a.code, `stored: ${bin} ${args.join(" ")}`).toBe(0);
      expect(b.code, `dockerd: ${bin} ${args.join(" ")}: ${b.stderr}`).toBe(0);
    }
    return [a, b];
  }

  beforeAll(async () => {
    [peer, ours, registry] = await Promise.all([startDockerd(), startTestDaemon(), startRegistry()]);
    archivePath = join(ours.dir, "app.tar");
    ({ id: imageId } = await writeDockerArchive(archivePath, "app:1", [{ "etc/a": "a\n" }, { "etc/b": "b\n", "bin/x": "x".repeat(5000) }]));
    const archive = readFileSync(archivePath);
    // The same archive loaded on both sides: the same image IDs, created times and sizes.
    const loaded = await Promise.all([ours.docker("/usr/bin/docker", ["load"], archive), theirs("/usr/bin/docker", ["load"], archive)]);
    expect(loaded.map((r) => r.stdout)).toEqual(["Loaded image: app:1\n", "Loaded image: app:1\n"]);
    await uploadTestImage(registry.host, "test/img", "1", await buildTestImage([{ "a.txt": "a\n" }, { "b.txt": "b\n" }]));
  }, 180_000);
  afterAll(async () => {
    await Promise.all([ours?.stop(), peer?.stop(), registry?.stop()]);
  });

  for (const bin of dockerClis) {
    describe(bin, () => {
      it("version and info succeed without warnings", async () => {
        for (const args of [["version"], ["info"]]) {
          const r = await ours.docker(bin, args);
          expect(r.code, `${args}: ${r.stderr}`).toBe(0);
          expect(r.stderr).not.toMatch(/WARNING/);
        }
      });

      it("docker images, with each flag", async () => {
        for (const args of [
          ["images"],
          ["images", "-a"],
          ["images", "--digests"],
          ["images", "--no-trunc"],
          ["images", "app"],
          ["images", "--filter", "dangling=false", "--filter", "reference=app:*"],
        ]) {
          const [a, b] = await both(bin, args);
          expect(tableCells(a.stdout), args.join(" ")).toEqual(tableCells(b.stdout));
        }
        for (const args of [
          ["images", "-q"],
          ["images", "--format", "{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}"],
        ]) {
          const [a, b] = await both(bin, args);
          // Sorted: dockerd orders images created in the same second as its unstable sort falls.
          const sorted = (s: string) => s.split("\n").sort();
          expect(sorted(a.stdout), args.join(" ")).toEqual(sorted(b.stdout));
        }
      });

      it("load, image inspect, inspect and history", async () => {
        const archive = readFileSync(archivePath);
        const loaded = await Promise.all([ours.docker(bin, ["load"], archive), theirs(bin, ["load"], archive)]);
        expect(loaded.map((r) => [r.code, r.stdout, r.stderr])).toEqual([
          [0, "Loaded image: app:1\n", ""],
          [0, "Loaded image: app:1\n", ""],
        ]);
        const [a, b] = await both(bin, ["image", "inspect", "app:1"]);
        expect(inspectView(a.stdout)).toEqual(inspectView(b.stdout));
        // Top-level inspect asks for a container first: our 404 sends it on to the image.
        const [c, e] = await both(bin, ["inspect", "app:1"]);
        expect(inspectView(c.stdout)).toEqual(inspectView(e.stdout));
        for (const args of [
          ["history", "app:1"],
          ["history", "--no-trunc", "-H=false", "app:1"],
        ]) {
          const [x, y] = await both(bin, args);
          expect(tableCells(x.stdout), args.join(" ")).toEqual(tableCells(y.stdout));
        }
      });

      it("errors: unknown images and bad names", async () => {
        for (const args of [
          ["image", "inspect", "nosuch"],
          ["history", "nosuch"],
          ["rmi", "nosuch"],
          ["tag", "app:1", "Upper"],
        ]) {
          const [a, b] = await both(bin, args, true);
          expect(a.code, args.join(" ")).toBe(b.code);
          expect(a.stderr, args.join(" ")).toBe(b.stderr);
        }
      });

      it("tag, rmi and image prune, and their events", async () => {
        // To the millisecond: the other CLI's run tagged and untagged the same names a moment ago.
        const since = (Date.now() / 1000 - 0.05).toFixed(3);
        const [t1, t2] = await both(bin, ["tag", "app:1", "other:2"]);
        expect(t1.stdout).toBe(t2.stdout);
        const [i1, i2] = await both(bin, ["images"]);
        expect(tableCells(i1.stdout)).toEqual(tableCells(i2.stdout));
        const [r1, r2] = await both(bin, ["rmi", "other:2"]);
        expect(r1.stdout).toBe(r2.stdout);
        const [p1, p2] = await both(bin, ["image", "prune", "-f"]);
        expect(p1.stdout).toBe(p2.stdout);
        const until = String(Math.ceil(Date.now() / 1000) + 1);
        const format = "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}";
        const [e1, e2] = await both(bin, ["events", "--since", since, "--until", until, "--filter", "type=image", "--format", format]);
        const tagEvents = (s: string) => s.split("\n").filter((l) => / (tag|untag) /.test(l));
        expect(tagEvents(e1.stdout)).toEqual(tagEvents(e2.stdout));
        expect(tagEvents(e1.stdout)).toEqual(["image tag other:2", `image untag ${imageId}`]);
      });

      it("save writes the bytes dockerd writes", async () => {
        const [a, b] = await both(bin, ["save", "app:1"]);
        expect(a.raw.equals(b.raw)).toBe(true);
      });

      it("system df, and -v without its CREATED column", async () => {
        const [a, b] = await both(bin, ["system", "df"]);
        expect(a.stdout).toBe(b.stdout);
        const [x, y] = await both(bin, ["system", "df", "-v"]);
        const sections = (text: string) => text.split("\n\n").map((section) => tableCells(section.split("\n").slice(1).join("\n") || "-"));
        expect(sections(x.stdout)).toEqual(sections(y.stdout));
      });

      it("pull and push through a loopback registry", async () => {
        const ref = `${registry.host}/test/img:1`;
        const [a, b] = await both(bin, ["pull", ref]);
        const tail = (s: string) => s.trimEnd().split("\n").slice(-3);
        expect(tail(a.stdout)).toEqual(tail(b.stdout));
        expect(a.stdout.split("\n")[0]).toBe(b.stdout.split("\n")[0]);
        const target = `${registry.host}/from-stored/${bin.includes("local") ? "new" : "old"}:1`;
        expect((await ours.docker(bin, ["tag", "app:1", target])).code).toBe(0);
        const push = await ours.docker(bin, ["push", target]);
        expect(push.stderr).toBe("");
        expect(push.stdout).toMatch(/^1: digest: sha256:[0-9a-f]{64} size: \d+$/m);
        // What stored pushed, dockerd pulls.
        const back = await theirs(bin, ["pull", target]);
        expect(back.code, back.stderr).toBe(0);
      });
    });
  }
});

describe.skipIf(registrySkipReason() || process.getuid?.() !== 0)("docker import and login through stored", () => {
  let ours: TestDaemon;
  let registry: RegistryPeer;

  beforeAll(async () => {
    [ours, registry] = await Promise.all([startTestDaemon(), startRegistry({ htpasswd: { users: { alice: "s3cret" } } })]);
  });
  afterAll(async () => {
    await Promise.all([ours?.stop(), registry?.stop()]);
  });

  for (const bin of dockerClis) {
    it(`${bin}: import with changes and a message`, async () => {
      const tar = await makeTar({ "hello.txt": "hi\n" });
      const r = await ours.docker(bin, ["import", "-c", 'CMD ["sh"]', "-c", "ENV A=b", "-m", "hello", "-", "imp:v1"], tar);
      expect(r.stderr).toBe("");
      expect(r.stdout).toMatch(/^sha256:[0-9a-f]{64}\n$/);
      const cmd = await ours.docker(bin, ["image", "inspect", "-f", "{{.Config.Cmd}} {{.Config.Env}} {{.Comment}}", "imp:v1"]);
      expect(cmd.stdout).toBe("[sh] [A=b] hello\n");
    });

    it(`${bin}: login checks the password with the registry, then pull and push use it`, async () => {
      const wrong = await ours.docker(bin, ["login", registry.host, "-u", "alice", "--password-stdin"], Buffer.from("nope\n"));
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(/^Error response from daemon: /);
      const ok = await ours.docker(bin, ["login", registry.host, "-u", "alice", "--password-stdin"], Buffer.from("s3cret\n"));
      expect(ok.code, ok.stderr).toBe(0);
      expect(ok.stdout).toMatch(/Login Succeeded/);
      const target = `${registry.host}/private/${bin.includes("local") ? "new" : "old"}:1`;
      expect((await ours.docker(bin, ["tag", "imp:v1", target])).code).toBe(0);
      const push = await ours.docker(bin, ["push", target]);
      expect(push.code, push.stderr).toBe(0);
      await ours.docker(bin, ["logout", registry.host]);
      // Anonymous now: the registry refuses, and the CLI is not sent into an interactive login.
      const denied = await ours.docker(bin, ["pull", target]);
      expect(denied.code).toBe(1);
      expect(denied.stderr).not.toMatch(/interactive login|Username/);
    });
  }
});
