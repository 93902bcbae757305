import { join } from "node:path";
import { type DockerdPeer, buildImage, busyboxSkipReason, dockerdSkipReason, importBusyboxBase, startDockerd } from "@store/test-peers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunResult, store, tempDir } from "./helpers";

const skip = dockerdSkipReason() ?? busyboxSkipReason();

// Every kind of entry a layer can hold, and changes that leave whiteouts and opaque dirs.
const fixture = `FROM base:1
RUN mkdir -p /data/keep /data/opaque && echo a > /data/keep/a && echo b > /data/opaque/b && echo gone > /data/gone \\
 && ln /data/keep/a /data/hard && ln -s keep/a /data/soft && mkfifo /data/fifo && touch /data/suid && chmod 4755 /data/suid
RUN rm /data/gone && rm -rf /data/opaque && mkdir /data/opaque && echo new > /data/opaque/new && echo '<&>' > /data/html
LABEL purpose=fixture quoted="a <b> & c"
ENV X=1
CMD ["sh", "-c", "echo <tag> && cat /data/keep/a"]
`;

/** Lines sorted: rows of images created in the same second come in any order from dockerd too. */
const sortedLines = (text: string) => text.trimEnd().split("\n").sort();
/** JSON rows without CreatedSince, which moves with the clock between the two calls. */
const jsonRows = (text: string) =>
  text
    .trim()
    .split("\n")
    .filter(Boolean)
    .map((l) => {
      const { CreatedSince: _, ...row } = JSON.parse(l) as Record<string, string>;
      return JSON.stringify(row);
    })
    .sort();

describe.skipIf(skip)("store on dockerd's own root", () => {
  let peer: DockerdPeer;
  let ids: string[];
  const docker = async (args: string[]) => (await peer.docker(args)).stdout.toString();
  const ours = async (args: string[]): Promise<string> => {
    const r: RunResult = await store(["--root", peer.root, ...args]);
    expect(r.stderr, args.join(" ")).toBe("");
    expect(r.code, args.join(" ")).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    peer = await startDockerd();
    await importBusyboxBase(peer, "base:1");
    await buildImage(peer, "fx:1", fixture);
    // The same tag built again: the first fx:2 is left dangling.
    await buildImage(peer, "fx:2", "FROM base:1\nRUN echo one > /one\n");
    await buildImage(peer, "fx:2", "FROM base:1\nRUN echo two > /two\n");
    await peer.docker(["tag", "fx:1", "example.com/team/fx:v1"]);
    await peer.docker(["tag", "base:1", "localhost:5000/base"]);
    ids = (await docker(["images", "-aq", "--no-trunc"])).trim().split("\n");
  }, 300_000);
  afterAll(async () => {
    await peer?.stop();
  });

  it("lists what docker images lists: tables, -a, -q, --digests, --no-trunc, filters", async () => {
    for (const args of [
      ["images"],
      ["images", "-a"],
      ["images", "-q"],
      ["images", "-aq", "--no-trunc"],
      ["images", "--digests", "--no-trunc"],
      ["images", "fx"],
      ["images", "--filter", "dangling=true"],
      ["images", "--filter", "label=purpose=fixture"],
      ["images", "--filter", "reference=*/*/fx", "-a"],
      ["images", "--filter", "before=fx:1"],
    ]) {
      const theirs = await docker(args);
      // CREATED ("2 minutes ago") can tick between the two calls; everything else must match.
      const strip = (t: string) => sortedLines(t).map((l) => l.replace(/ {3}\S.*? ago {3}/, "   <created>   "));
      expect(strip(await ours(args)), args.join(" ")).toEqual(strip(theirs));
    }
  });

  it("prints the same --format json rows and templates", async () => {
    for (const args of [["images", "--format", "json"], ["images", "-a", "--digests", "--format", "json"], ["images", "--format", "{{json .}}"]]) {
      expect(jsonRows(await ours(args)), args.join(" ")).toEqual(jsonRows(await docker(args)));
    }
    const template = ["images", "-a", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}} {{.VirtualSize}} {{.CreatedAt}}"];
    expect(sortedLines(await ours(template))).toEqual(sortedLines(await docker(template)));
  });

  it("inspects every image as docker image inspect does", async () => {
    for (const id of ids) {
      const theirs: unknown[] = JSON.parse(await docker(["image", "inspect", id]));
      expect(JSON.parse(await ours(["inspect", id])), id).toEqual(theirs);
    }
    expect(await ours(["inspect", "fx:1"])).toBe(await docker(["image", "inspect", "fx:1"]));
  });

  it("shows the history docker history shows", async () => {
    for (const ref of ["fx:1", "fx:2", "base:1"]) {
      expect(jsonRows(await ours(["history", "--no-trunc", "--format", "json", ref])), ref).toEqual(jsonRows(await docker(["history", "--no-trunc", "--format", "json", ref])));
      const strip = (t: string) => t.split("\n").map((l) => l.replace(/ {3}\S.*? ago {3}/, "   <created>   "));
      expect(strip(await ours(["history", ref])), ref).toEqual(strip(await docker(["history", ref])));
    }
  });

  it("counts the images docker system df counts, and verifies every layer dockerd wrote", async () => {
    const theirs = (await docker(["system", "df"])).split("\n")[1]!.split(/ {2,}/);
    const mine = (await ours(["df"])).split("\n")[1]!.split(/ {2,}/);
    expect(mine).toEqual(theirs);
    expect(await ours(["verify"])).toMatch(/^\d+ image configs, \d+ layers checked: all verified\n$/);
  });

  it("loads what docker save wrote into a fresh root, same IDs and tags", async () => {
    const { dir, cleanup } = await tempDir();
    try {
      const archive = (await peer.docker(["save", "fx:1", "base:1"])).stdout;
      const root = join(dir, "root");
      const loaded = await store(["--root", root, "load"], { stdin: archive });
      expect(loaded.stderr).toBe("");
      expect(sortedLines(loaded.stdout)).toEqual(["Loaded image: base:1", "Loaded image: fx:1"]);
      const list = await store(["--root", root, "images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}"]);
      const expected = await docker(["images", "--no-trunc", "--format", "{{.ID}} {{.Repository}}:{{.Tag}} {{.Size}}", "--filter", "reference=fx:1", "--filter", "reference=base:1"]);
      expect(sortedLines(list.stdout)).toEqual(sortedLines(expected));
      expect((await store(["--root", root, "verify"])).code).toBe(0);
    } finally {
      await cleanup();
    }
  });
});
