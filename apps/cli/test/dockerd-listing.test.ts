import { join } from "node:path";
import {
  type DockerdPeer,
  buildImage,
  busyboxSkipReason,
  dockerdSkipReason,
  importBusyboxBase,
  registrySkipReason,
  startDockerd,
  startRegistry,
} from "@store/test-peers";
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
/**
 * A table's cells without its CREATED column ("2 minutes ago" ticks between the two calls and
 * changes the column's width), rows sorted. Exact alignment is compared with stable columns.
 */
const tableCells = (text: string) => {
  const [header, ...rows] = text
    .trimEnd()
    .split("\n")
    .map((l) => l.split(/ {2,}/));
  const created = header!.indexOf("CREATED");
  const drop = (cells: string[]) => (created < 0 ? cells : cells.filter((_, i) => i !== created)).join(" | ");
  return [drop(header!), ...rows.map(drop).sort()];
};
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
      if (args.includes("-q") || args.includes("-aq")) expect(sortedLines(await ours(args)), args.join(" ")).toEqual(sortedLines(theirs));
      else expect(tableCells(await ours(args)), args.join(" ")).toEqual(tableCells(theirs));
    }
    const stable = ["images", "-a", "--digests", "--format", "table {{.Repository}}\t{{.Tag}}\t{{.Digest}}\t{{.ID}}\t{{.Size}}"];
    expect(sortedLines(await ours(stable))).toEqual(sortedLines(await docker(stable)));
  });

  it("prints the same --format json rows and templates", async () => {
    for (const args of [
      ["images", "--format", "json"],
      ["images", "-a", "--digests", "--format", "json"],
      ["images", "--format", "{{json .}}"],
    ]) {
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
    // Templates print a nil list as [] and a nil map as map[] (Go's typed nils), a nil pointer as <nil>.
    const nils =
      "{{.Config.Cmd}}|{{.Config.Entrypoint}}|{{.Config.Env}}|{{.Config.Labels}}|{{.Config.Volumes}}|{{.Config.ExposedPorts}}|{{.Config.OnBuild}}|{{.Config.Healthcheck}}|{{.ContainerConfig.Cmd}}|{{.RepoDigests}}|{{.GraphDriver.Name}}";
    for (const id of ids) expect(await ours(["inspect", "-f", nils, id]), id).toBe(await docker(["image", "inspect", "-f", nils, id]));
    // The template actions scripts use most: range, index, join, len, if/else.
    const actions =
      '{{range .RepoTags}}{{.}},{{end}}|{{index .Config.Labels "purpose"}}|{{join .Config.Env ";"}}|{{len .RootFS.Layers}}|{{if .Config.Labels}}labels{{else}}none{{end}}|{{range $k := .Config.Cmd}}{{end}}';
    const supported = actions.slice(0, actions.lastIndexOf("|"));
    for (const id of ids) expect(await ours(["inspect", "-f", supported, id]), id).toBe(await docker(["image", "inspect", "-f", supported, id]));
  });

  it("shows the history docker history shows", async () => {
    for (const ref of ["fx:1", "fx:2", "base:1"]) {
      expect(jsonRows(await ours(["history", "--no-trunc", "--format", "json", ref])), ref).toEqual(
        jsonRows(await docker(["history", "--no-trunc", "--format", "json", ref])),
      );
      expect(tableCells(await ours(["history", ref])), ref).toEqual(tableCells(await docker(["history", ref])));
      const stable = ["history", "--format", "table {{.ID}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}", ref];
      expect(await ours(stable), ref).toBe(await docker(stable));
    }
  });

  it("counts the images docker system df counts, and verifies every layer dockerd wrote", async () => {
    const theirs = (await docker(["system", "df"])).split("\n")[1]!.split(/ {2,}/);
    const mine = (await ours(["df"])).split("\n")[1]!.split(/ {2,}/);
    expect(mine).toEqual(theirs);
    // --format: the Images row's fields by template and as JSON, as docker names them.
    for (const format of ["{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}} {{.Reclaimable}}", "{{json .}}", "table {{.Type}}\t{{.Size}}"]) {
      // Cells, not alignment: docker's table also has a wider "Local Volumes" row.
      const first = async (run: (args: string[]) => Promise<string>) =>
        (await run(["system", "df", "--format", format]))
          .split("\n")
          .slice(0, format.startsWith("table") ? 2 : 1)
          .map((l) => l.split(/ {2,}/));
      expect(await first((a) => ours(a.slice(1))), format).toEqual(await first(docker));
    }
    // Per image, SHARED SIZE counts only layers other *listed* images use (the fixture's builds
    // leave intermediate images, which docker leaves out of that count).
    const imagesSection = (text: string) => tableCells(text.split("\n\n")[1]!);
    expect(imagesSection(await ours(["df", "-v"]))).toEqual(imagesSection(await docker(["system", "df", "-v"])));
    expect(await ours(["verify"])).toMatch(/^\d+ image configs?, \d+ layers? checked: all verified\n$/);
  });

  it("docker save → store load → store save → docker load keeps IDs, tags and diff IDs", async () => {
    const { dir, cleanup } = await tempDir();
    const refs = ["fx:1", "example.com/team/fx:v1", "base:1"];
    // Each tag → the image it names and that image's diff IDs.
    const describeImages = async (run: (args: string[]) => Promise<string>) =>
      Promise.all(refs.map(async (ref) => `${ref} ${(await run(["image", "inspect", "--format", "{{.Id}} {{json .RootFS.Layers}}", ref])).trim()}`));
    try {
      const before = await describeImages(docker);
      const archive = (await peer.docker(["save", ...refs])).stdout;
      const root = join(dir, "root");
      const loaded = await store(["--root", root, "load"], { stdin: archive });
      expect(loaded.stderr).toBe("");
      expect(sortedLines(loaded.stdout)).toEqual(refs.map((r) => `Loaded image: ${r}`).sort());
      const inFresh = async (args: string[]) => (await store(["--root", root, ...args])).stdout;
      expect(await describeImages(inFresh)).toEqual(before);
      expect((await store(["--root", root, "verify"])).code).toBe(0);

      // Back to dockerd: remove the images there, load what we saved.
      const saved = join(dir, "saved.tar");
      expect(await store(["--root", root, "save", "-o", saved, ...refs])).toMatchObject({ code: 0, stderr: "" });
      await peer.docker(["rmi", ...refs]);
      await peer.docker(["load", "-i", saved]);
      expect(await describeImages(docker)).toEqual(before);

      // The OCI layout round-trips through our own load.
      const oci = join(dir, "oci.tar");
      expect(await store(["--root", root, "save", "--format", "oci", "-o", oci, "fx:1"])).toMatchObject({ code: 0, stderr: "" });
      const other = join(dir, "other");
      expect(await store(["--root", other, "load", "-q", "-i", oci])).toMatchObject({ code: 0, stdout: "Loaded image: fx:1\n" });
      expect((await store(["--root", other, "images", "-q", "--no-trunc"])).stdout).toBe(`${before[0]!.split(" ")[1]}\n`);
    } finally {
      await cleanup();
    }
  });

  // Last: it adds tags and digests the tests above do not expect.
  it.skipIf(registrySkipReason() !== undefined)(
    "shows the RepoDigests that a push to and pull from a registry record, as docker does",
    async () => {
      const registry = await startRegistry();
      try {
        const ref = `${registry.host}/team/fx:pushed`;
        await peer.docker(["tag", "fx:1", ref]);
        await peer.docker(["push", ref]);
        // Pulled back after the tag is gone: dockerd records the digest reference again.
        await peer.docker(["rmi", ref]);
        await peer.docker(["pull", ref]);
        const digests = JSON.parse(await docker(["image", "inspect", "--format", "{{json .RepoDigests}}", ref])) as string[];
        expect(digests).toEqual([expect.stringMatching(new RegExp(`^${registry.host.replace(/\./g, "\\.")}/team/fx@sha256:[0-9a-f]{64}$`))]);
        for (const args of [
          ["images", "--digests"],
          ["images", "--digests", "--no-trunc", "-a"],
          ["images", "--digests", `${registry.host}/team/fx`],
        ]) {
          expect(tableCells(await ours(args)), args.join(" ")).toEqual(tableCells(await docker(args)));
        }
        const json = ["images", "--digests", "--format", "json"];
        expect(jsonRows(await ours(json))).toEqual(jsonRows(await docker(json)));
        expect(JSON.parse(await ours(["inspect", ref]))).toEqual(JSON.parse(await docker(["image", "inspect", ref])));
        // The digest reference itself names the image.
        expect(await ours(["inspect", "--format", "{{.Id}}", digests[0]!])).toBe(await docker(["image", "inspect", "--format", "{{.Id}}", digests[0]!]));
      } finally {
        await registry.stop();
      }
    },
    120_000,
  );
});
