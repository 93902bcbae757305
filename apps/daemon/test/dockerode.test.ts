import { join } from "node:path";
import { type DockerdPeer, type RegistryPeer, dockerdSkipReason, registrySkipReason, startDockerd, startRegistry, writeDockerArchive } from "@store/test-peers";
import { buildTestImage, makeTar, uploadTestImage } from "@store/test-support";
import Docker from "dockerode";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDaemon, startTestDaemon } from "./helpers";

const skip = dockerdSkipReason() ?? registrySkipReason();

/** A readable stream (what dockerode hands back for streamed answers) read whole. */
async function readAll(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c as Uint8Array));
  return Buffer.concat(chunks);
}

/** docker's JSON message lines of a progress stream. */
const messages = (bytes: Buffer): Record<string, unknown>[] =>
  bytes
    .toString("utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);

/**
 * What `listImages` says of an image. RepoDigests of an image with none: dockerd 20.10 sends
 * null, stored an empty list (as the docker CLI and dockerode read both); compared as lists.
 */
function listView(rows: Docker.ImageInfo[]): unknown[] {
  return rows
    .map((r) => ({
      Id: r.Id,
      ParentId: r.ParentId,
      RepoTags: [...(r.RepoTags ?? [])].sort(),
      RepoDigests: r.RepoDigests ?? [],
      Created: r.Created,
      Size: r.Size,
      Labels: r.Labels,
    }))
    .sort((a, b) => a.Id.localeCompare(b.Id));
}

/** `inspect` without what differs by root: the driver's paths and last-tag time. */
function inspectView(info: Docker.ImageInspectInfo): unknown {
  const { GraphDriver: _g, Metadata: _m, ...rest } = info as Docker.ImageInspectInfo & { Metadata?: unknown };
  return rest;
}

/** dockerode's followProgress as a promise: every progress event, then the final list. */
function follow(docker: Docker, stream: NodeJS.ReadableStream): Promise<{ events: Record<string, unknown>[]; output: Record<string, unknown>[] }> {
  const events: Record<string, unknown>[] = [];
  return new Promise((resolve, reject) => {
    docker.modem.followProgress(
      stream,
      (err: Error | null, output: Record<string, unknown>[]) => (err ? reject(err) : resolve({ events, output })),
      (event: Record<string, unknown>) => events.push(event),
    );
  });
}

describe.skipIf(skip)("dockerode against stored gets what it gets from dockerd", () => {
  let peer: DockerdPeer;
  let ours: TestDaemon;
  let registry: RegistryPeer;
  let archivePath: string;
  let imageId: string;
  let sides: [Docker, Docker];
  const [stored, dockerd] = [0, 1] as const;

  /** The same call on both daemons, at once. */
  const both = <T>(call: (d: Docker) => Promise<T>): Promise<[T, T]> => Promise.all([call(sides[stored]), call(sides[dockerd])]);

  beforeAll(async () => {
    [peer, ours, registry] = await Promise.all([startDockerd(), startTestDaemon(), startRegistry()]);
    sides = [new Docker({ socketPath: ours.socket }), new Docker({ socketPath: peer.socket })];
    archivePath = join(ours.dir, "app.tar");
    ({ id: imageId } = await writeDockerArchive(archivePath, "app:1", [{ "etc/a": "a\n" }, { "etc/b": "b\n", "bin/x": "x".repeat(5000) }]));
    await uploadTestImage(registry.host, "test/img", "1", await buildTestImage([{ "a.txt": "a\n" }, { "b.txt": "b\n" }]));
  }, 180_000);
  afterAll(async () => {
    await Promise.all([ours?.stop(), peer?.stop(), registry?.stop()]);
  });

  it("loadImage: the same archive loads on both, with the same answer", async () => {
    const [a, b] = await both(async (d) => messages(await readAll(await d.loadImage(archivePath))));
    expect(a).toEqual(b);
    expect(a.map((m) => m.stream)).toContain("Loaded image: app:1\n");
  });

  it("listImages, getImage().inspect() and history() agree", async () => {
    const [l1, l2] = await both((d) => d.listImages());
    expect(listView(l1)).toEqual(listView(l2));
    expect(l1.map((r) => r.Id)).toContain(imageId);
    const [i1, i2] = await both((d) => d.getImage("app:1").inspect());
    expect(inspectView(i1)).toEqual(inspectView(i2));
    expect(i1.Id).toBe(imageId);
    const [h1, h2] = await both((d) => d.getImage("app:1").history());
    expect(h1).toEqual(h2);
    expect(h1[0].Id).toBe(imageId);
  });

  it("getImage().tag() and remove(), and getEvents() reports both", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    await both((d) => d.getImage("app:1").tag({ repo: "other", tag: "2" }));
    const [l1, l2] = await both((d) => d.listImages({ filters: JSON.stringify({ reference: ["other:2"] }) }));
    expect(listView(l1)).toEqual(listView(l2));
    // The reference filter narrows RepoTags too, on both.
    expect(l1.map((r) => r.RepoTags)).toEqual([["other:2"]]);
    const [r1, r2] = await both((d) => d.getImage("other:2").remove());
    expect(r1).toEqual(r2);
    expect(r1).toEqual([{ Untagged: "other:2" }]);
    const until = Math.ceil(Date.now() / 1000) + 1;
    const [e1, e2] = await both(async (d) => {
      const stream = (await d.getEvents({ since, until, filters: { type: ["image"] } })) as unknown as NodeJS.ReadableStream;
      return messages(await readAll(stream));
    });
    const tagEvents = (es: Record<string, unknown>[]) =>
      es.filter((e) => e.Action === "tag" || e.Action === "untag").map((e) => `${e.Action} ${(e.Actor as { Attributes: { name: string } }).Attributes.name}`);
    expect(tagEvents(e1)).toEqual(tagEvents(e2));
    expect(tagEvents(e1)).toEqual(["tag other:2", `untag ${imageId}`]);
  });

  it("getImage().get() streams the bytes dockerd's save streams", async () => {
    const [a, b] = await both(async (d) => readAll(await d.getImage("app:1").get()));
    expect(a.length).toBeGreaterThan(0);
    expect(a.equals(b)).toBe(true);
  });

  it("pull with modem.followProgress: the same image, progress events and final status", async () => {
    const ref = `${registry.host}/test/img:1`;
    const [a, b] = await both(async (d) => follow(d, await d.pull(ref)));
    for (const side of [a, b]) {
      expect(side.events.length).toBeGreaterThan(0);
      expect(side.output.at(-1)?.status).toBe(`Status: Downloaded newer image for ${ref}`);
      expect(side.events.some((e) => e.status === "Pull complete")).toBe(true);
    }
    const [i1, i2] = await both((d) => d.getImage(ref).inspect());
    expect(inspectView(i1)).toEqual(inspectView(i2));
  });

  it("importImage: a root filesystem tarball becomes a one-layer image on both", async () => {
    const tar = await makeTar({ "hello.txt": "hello\n", "etc/conf": "x=1\n" });
    const [a, b] = await both(async (d) => messages(await readAll(await d.importImage(Buffer.from(tar) as unknown as string, { repo: "imp", tag: "v1" }))));
    for (const side of [a, b]) expect(side.at(-1)?.status).toMatch(/^sha256:[0-9a-f]{64}$/);
    const [i1, i2] = await both((d) => d.getImage("imp:v1").inspect());
    expect(i1.RootFS).toEqual(i2.RootFS);
    expect(i1.Size).toBe(i2.Size);
  });

  it("bad input: a clear error with dockerd's status, and nothing lost", async () => {
    const before = listView(await sides[stored].listImages());
    const errors = await both((d) =>
      d
        .getImage("nope:1")
        .inspect()
        .then(
          () => undefined,
          (e: { statusCode?: number; json?: { message?: string } }) => ({ status: e.statusCode, message: e.json?.message }),
        ),
    );
    expect(errors[0]).toEqual(errors[1]);
    expect(errors[0]?.status).toBe(404);
    expect(errors[0]?.message).toMatch(/No such image: nope:1$/);
    // A load of what is not an archive fails, as one line, and leaves the store as it was.
    const failed = await both(async (d) => {
      try {
        return messages(await readAll(await d.loadImage(Buffer.from("not a tar archive at all") as unknown as string)));
      } catch (e) {
        return [{ status: (e as { statusCode?: number }).statusCode }];
      }
    });
    // Both answer 200 and report the failure inside the stream, as one line.
    for (const side of failed) {
      expect(side).toHaveLength(1);
      expect(side[0]?.error).toMatch(/^[^\n]*(tar|archive)[^\n]*$/);
    }
    expect(listView(await sides[stored].listImages())).toEqual(before);
  });
});
