import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { type RegistryPeer, registrySkipReason, startRegistry, writeDockerArchive } from "@store/test-peers";
import { type TestImage, buildTestImage, makeTar, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import { startDaemon } from "../src/daemon";
import { createLogger } from "../src/logger";
import { type TestDaemon, requestOn, startTestDaemon } from "./helpers";

const isRoot = process.getuid?.() === 0;
const anonymous = { "X-Registry-Auth": "e30=" };

describe.skipIf(!isRoot)("stored's Engine API", () => {
  let d: TestDaemon;
  let archive: Buffer;
  let imageId: string;

  beforeAll(async () => {
    d = await startTestDaemon();
    const written = await writeDockerArchive(join(d.dir, "app.tar"), "app:1", [{ "etc/a": "a\n" }, { "etc/b": "b <&>\n" }]);
    imageId = written.id;
    archive = readFileSync(join(d.dir, "app.tar"));
  });
  afterAll(async () => d?.stop());

  it("answers the ping with the headers clients negotiate from", async () => {
    const head = await d.request("HEAD", "/_ping");
    expect(head.status).toBe(200);
    expect(head.headers["api-version"]).toBe("1.41");
    expect(head.headers.ostype).toBe("linux");
    expect(head.headers["docker-experimental"]).toBe("false");
    expect(head.headers.server).toMatch(/^stored\//);
    expect(head.headers["content-length"]).toBe("0");
    const get = await d.request("GET", "/v1.41/_ping");
    expect([get.status, get.text, get.headers["cache-control"]]).toEqual([200, "OK", "no-cache, no-store, must-revalidate"]);
  });

  it("serves /v1.24 to /v1.41 and unversioned paths; other versions are dockerd's 400", async () => {
    for (const p of ["/v1.24/version", "/v1.41/version", "/version"]) expect((await d.request("GET", p)).status, p).toBe(200);
    const old = await d.request("GET", "/v1.23/version");
    expect(old.status).toBe(400);
    expect(old.json()).toEqual({
      message: "client version 1.23 is too old. Minimum supported API version is 1.24, please upgrade your client to a newer version",
    });
    const young = await d.request("GET", "/v1.42/images/json");
    expect([young.status, young.json()]).toEqual([400, { message: "client version 1.42 is too new. Maximum supported API version is 1.41" }]);
  });

  it("answers unknown paths and wrong methods 404 page not found, as JSON with exactly application/json", async () => {
    for (const [m, p] of [
      ["GET", "/v1.41/containers/json"],
      ["PUT", "/images/json"],
      ["POST", "/images/json"],
    ] as const) {
      const r = await d.request(m, p);
      expect([r.status, r.text, r.headers["content-type"]], `${m} ${p}`).toEqual([404, '{"message":"page not found"}\n', "application/json"]);
    }
  });

  it("loads an archive as docker's JSON messages, then lists, inspects and shows its history", async () => {
    const load = await d.request("POST", "/v1.41/images/load?quiet=0", { body: archive, headers: { "Content-Type": "application/x-tar" } });
    expect(load.status).toBe(200);
    expect(load.headers["content-type"]).toBe("application/json");
    expect(load.text.endsWith("\r\n")).toBe(true);
    const lines = load.lines();
    expect(lines.filter((l) => l.status === "Loading layer").length).toBeGreaterThan(0);
    expect(lines.at(-1)).toEqual({ stream: "Loaded image: app:1\n" });

    const list = (await d.request("GET", "/v1.41/images/json")).json<Record<string, unknown>[]>();
    expect(list).toHaveLength(1);
    expect(Object.keys(list[0]!)).toEqual([
      "Containers",
      "Created",
      "Id",
      "Labels",
      "ParentId",
      "RepoDigests",
      "RepoTags",
      "SharedSize",
      "Size",
      "VirtualSize",
    ]);
    expect(list[0]).toMatchObject({ Id: imageId, RepoTags: ["app:1"], Containers: -1, SharedSize: -1 });

    const inspect = await d.request("GET", "/v1.41/images/app:1/json");
    expect(inspect.json()).toMatchObject({ Id: imageId, RepoTags: ["app:1"], RootFS: { Type: "layers" } });
    const byPrefix = await d.request("GET", `/images/${imageId.slice(7, 19)}/json`);
    expect(byPrefix.json()).toMatchObject({ Id: imageId });
    const history = (await d.request("GET", "/images/app:1/history")).json<{ Id: string }[]>();
    expect(history[0]!.Id).toBe(imageId);
  });

  it("answers a load of something that is not an archive 200 with the error inside the stream, and stores nothing", async () => {
    const before = (await d.request("GET", "/images/json?all=1")).json<unknown[]>().length;
    const r = await d.request("POST", "/images/load", { body: Buffer.alloc(4096, "x") });
    expect(r.status).toBe(200);
    const last = r.lines().at(-1)!;
    expect(last.errorDetail).toBeDefined();
    expect(last.error).toBe((last.errorDetail as { message: string }).message);
    expect((await d.request("GET", "/images/json?all=1")).json<unknown[]>()).toHaveLength(before);
  });

  it("tags (fully qualified names normalised), filters in both encodings, and refuses bad names and filters with 400", async () => {
    const tag = await d.request("POST", "/v1.41/images/app:1/tag?repo=docker.io%2Flibrary%2Fother&tag=2", { headers: { "Content-Type": "text/plain" } });
    expect([tag.status, tag.text]).toEqual([201, ""]);
    const current = await d.request("GET", `/images/json?filters=${encodeURIComponent('{"reference":{"other":true}}')}`);
    const legacy = await d.request("GET", `/images/json?filters=${encodeURIComponent('{"reference":["other"]}')}`);
    expect(current.json()).toEqual(legacy.json());
    // As dockerd: only the references that match are listed.
    expect(current.json<{ RepoTags: string[] }[]>()[0]!.RepoTags).toEqual(["other:2"]);

    const upper = await d.request("POST", "/images/app:1/tag?repo=Upper&tag=1");
    expect(upper.status).toBe(400);
    expect(upper.json<{ message: string }>().message).toMatch(/^invalid reference format: .*must be lowercase$/);
    const badJson = await d.request("GET", "/images/json?filters=%7Bnot");
    expect(badJson.status).toBe(400);
    expect(badJson.json<{ message: string }>().message).toMatch(/^invalid filters/);
    const badKey = await d.request("GET", `/images/json?filters=${encodeURIComponent('{"foo":{"x":true}}')}`);
    expect([badKey.status, badKey.json()]).toEqual([400, { message: "invalid filter 'foo'" }]);
    const traversal = await d.request("GET", "/images/..%2F..%2Fetc%2Fpasswd/json");
    expect(traversal.status).toBe(400);
    const missing = await d.request("GET", "/images/nosuch/json");
    expect([missing.status, missing.json()]).toEqual([404, { message: "no such image: nosuch: No such image: nosuch:latest" }]);
  });

  it("saves a docker-archive that loads back, and answers an unknown name 404 before any byte", async () => {
    const r = await d.request("GET", "/images/get?names=app%3A1");
    expect(r.status).toBe(200);
    expect(r.headers["content-type"]).toBe("application/x-tar");
    expect(r.body.includes(Buffer.from("manifest.json"))).toBe(true);
    const one = await d.request("GET", "/images/app:1/get");
    expect(one.body.equals(r.body)).toBe(true);
    const missing = await d.request("GET", "/images/get?names=nosuch%3A1");
    expect(missing.status).toBe(404);
  });

  it("imports a tarball with changes and a message, ending with the new image's ID", async () => {
    const tar = await makeTar({ "hello.txt": "hi\n" });
    const q = new URLSearchParams([
      ["changes", 'CMD ["sh"]'],
      ["changes", "ENV A=b"],
      ["fromSrc", "-"],
      ["message", "hello"],
      ["repo", "imp:v1"],
      ["tag", ""],
    ]);
    const r = await d.request("POST", `/v1.41/images/create?${q}`, { body: tar, headers: { "Content-Type": "text/plain" } });
    expect(r.status).toBe(200);
    const id = r.lines().at(-1)!.status as string;
    expect(id).toMatch(/^sha256:[0-9a-f]{64}$/);
    const inspect = (await d.request("GET", "/images/imp:v1/json")).json<{ Id: string; Comment: string; Config: { Cmd: string[]; Env: string[] } }>();
    expect(inspect).toMatchObject({ Id: id, Comment: "hello", Config: { Cmd: ["sh"], Env: ["A=b"] } });
  });

  it("removes images as dockerd answers, with events for each untag and delete", async () => {
    const since = Math.floor(Date.now() / 1000) - 1;
    const rmi = await d.request("DELETE", "/v1.41/images/imp:v1");
    const items = rmi.json<Record<string, string>[]>();
    expect(items[0]).toEqual({ Untagged: "imp:v1" });
    expect(items.some((i) => i.Deleted !== undefined)).toBe(true);
    const missing = await d.request("DELETE", "/images/nosuch");
    expect([missing.status, missing.json()]).toEqual([404, { message: "No such image: nosuch:latest" }]);
    const conflict = await d.request("DELETE", `/images/${imageId.slice(7, 19)}`);
    expect(conflict.status).toBe(409);
    expect(conflict.json<{ message: string }>().message).toMatch(
      /^conflict: unable to delete [0-9a-f]{12} \(must be forced\) - image is referenced in multiple repositories$/,
    );

    const events = await d.request("GET", `/events?since=${since}&until=${Math.ceil(Date.now() / 1000) + 1}`);
    const actions = events.lines<{ Action: string; Type: string }>().map((e) => e.Action);
    expect(actions).toContain("untag");
    expect(actions).toContain("delete");
  });

  it("prunes and reports disk usage", async () => {
    const prune = await d.request("POST", `/images/prune?filters=${encodeURIComponent('{"dangling":{"true":true}}')}`);
    expect(prune.json()).toEqual({ ImagesDeleted: null, SpaceReclaimed: 0 });
    const bad = await d.request("POST", `/images/prune?filters=${encodeURIComponent('{"dangling":{"maybe":true}}')}`);
    expect([bad.status, bad.json()]).toEqual([400, { message: "Invalid filter 'dangling=[maybe]'" }]);
    const df = (await d.request("GET", "/system/df")).json<{ LayersSize: number; Images: { Containers: number }[] }>();
    expect(df.LayersSize).toBeGreaterThan(0);
    expect(df.Images[0]!.Containers).toBe(0);
    expect(df).toMatchObject({ Containers: [], Volumes: [], BuildCache: [], BuilderSize: 0 });
  });

  it("stops work whose client went away mid-body: nothing stored, the daemon keeps serving", async () => {
    const before = (await d.request("GET", "/images/json?all=1")).json<unknown[]>().length;
    const half = archive.subarray(0, Math.floor(archive.length / 2));
    await new Promise<void>((resolve) => {
      const body = Readable.from(
        (async function* () {
          yield half;
          await new Promise((r) => setTimeout(r, 200));
          throw new Error("client gone");
        })(),
      );
      requestOn(d.socket, "POST", "/images/load", { body }).then(
        () => resolve(),
        () => resolve(),
      );
    });
    await new Promise((r) => setTimeout(r, 300));
    expect((await d.request("GET", "/images/json?all=1")).json<unknown[]>()).toHaveLength(before);
  });

  it("answers requests shaped as dockerode sends them (no version, JSON bodies, legacy filters, application/tar)", async () => {
    const json = { "Content-Type": "application/json" };
    const list = await d.request("GET", `/images/json?all=true&filters=${encodeURIComponent('{"dangling":["false"],"reference":["app"]}')}`);
    expect(list.json<{ RepoTags: string[] }[]>().map((i) => i.RepoTags)).toEqual([["app:1"]]);
    const tag = await d.request("POST", "/images/app:1/tag?repo=foo%2Fbar&tag=v1", { headers: json, body: '{"repo":"foo/bar","tag":"v1"}' });
    expect(tag.status).toBe(201);
    const remove = await d.request("DELETE", "/images/foo/bar:v1?force=true");
    expect(remove.json()).toEqual([{ Untagged: "foo/bar:v1" }]);
    const load = await d.request("POST", "/images/load?quiet=false", { body: archive, headers: { "Content-Type": "application/tar" } });
    expect(load.lines().at(-1)).toEqual({ stream: "Loaded image: app:1\n" });
    const tar = await makeTar({ "x.txt": "x\n" });
    const imported = await d.request("POST", "/images/create?repo=myimg&tag=v1&fromSrc=-", { body: tar, headers: { "Content-Type": "application/tar" } });
    expect(imported.lines().at(-1)!.status).toMatch(/^sha256:/);
    expect((await d.request("DELETE", "/images/myimg:v1")).status).toBe(200);
    const prune = await d.request("POST", `/images/prune?filters=${encodeURIComponent('{"dangling":{"true":true}}')}`, {
      headers: json,
      body: '{"filters":{"dangling":{"true":true}}}',
    });
    expect(prune.status).toBe(200);
  });

  it("refuses a second daemon on the same root with a clear error", async () => {
    const e = await startDaemon(
      {
        dataRoot: d.root,
        hosts: [`unix://${d.dir}/second.sock`],
        storageDriver: "overlay2",
        insecureRegistries: [],
        registryMirrors: [],
        maxConcurrentDownloads: 3,
        maxConcurrentUploads: 5,
        logLevel: "error",
      },
      { env: {}, logger: createLogger("fatal", { write: () => undefined }) },
    ).catch((err: unknown) => err);
    expect(isStoreError(e, "ERR_DAEMON_ROOT_LOCKED")).toBe(true);
    expect((e as Error).message).toContain(`is in use by process ${process.pid}`);
  });
});

describe.skipIf(!isRoot || registrySkipReason())("stored pulls and pushes", () => {
  let d: TestDaemon;
  let registry: RegistryPeer;
  let image: TestImage;

  beforeAll(async () => {
    [d, registry] = await Promise.all([startTestDaemon({ metricsAddr: "127.0.0.1:0" }), startRegistry()]);
    image = await buildTestImage([{ "a.txt": "a\n" }, { "b.txt": "b\n" }]);
    await uploadTestImage(registry.host, "test/img", "1", image);
  });
  afterAll(async () => {
    await d?.stop();
    await registry?.stop();
  });

  it("pulls with docker's progress messages, and answers a missing tag 404 before any output", async () => {
    const r = await d.request("POST", `/v1.41/images/create?fromImage=${encodeURIComponent(`${registry.host}/test/img`)}&tag=1`, { headers: anonymous });
    expect(r.status).toBe(200);
    const statuses = r.lines<{ status?: string; error?: string }>().map((l) => l.status ?? `error: ${l.error}`);
    expect(statuses[0]).toBe("Pulling from test/img");
    expect(statuses).toContain("Pull complete");
    expect(statuses.at(-1)).toBe(`Status: Downloaded newer image for ${registry.host}/test/img:1`);
    // dockerode sends its options as a JSON body too, and no version prefix.
    const again = await d.request("POST", `/images/create?fromImage=${encodeURIComponent(`${registry.host}/test/img:1`)}`, {
      headers: { ...anonymous, "Content-Type": "application/json" },
      body: JSON.stringify({ fromImage: `${registry.host}/test/img:1` }),
    });
    expect(again.lines<{ status: string }>().at(-1)!.status).toBe(`Status: Image is up to date for ${registry.host}/test/img:1`);

    // `docker pull name@digest` sends the digest as `tag`.
    const byDigest = await d.request("POST", `/images/create?fromImage=${encodeURIComponent(`${registry.host}/test/img`)}&tag=${image.manifest.digest}`, {
      headers: anonymous,
    });
    expect(byDigest.lines<{ status: string }>().at(-2)!.status).toBe(`Digest: ${image.manifest.digest}`);
    const missing = await d.request("POST", `/images/create?fromImage=${encodeURIComponent(`${registry.host}/test/img`)}&tag=nope`, { headers: anonymous });
    expect(missing.status).toBe(404);
    expect(missing.headers["content-type"]).toBe("application/json");
  });

  it("pulls a Docker Hub name through --registry-mirror, never reaching Docker Hub", async () => {
    await uploadTestImage(registry.host, "library/mirrored", "latest", image);
    const mirrored = await startTestDaemon({ registryMirrors: [`http://${registry.host}`] });
    try {
      const r = await mirrored.request("POST", "/v1.41/images/create?fromImage=mirrored&tag=latest", { headers: anonymous });
      expect(r.status).toBe(200);
      expect(r.lines<{ status: string }>().at(-1)!.status).toBe("Status: Downloaded newer image for mirrored:latest");
      const info = (await mirrored.request("GET", "/info")).json<{ RegistryConfig: { Mirrors: string[] } }>();
      expect(info.RegistryConfig.Mirrors).toEqual([`http://${registry.host}`]);
    } finally {
      await mirrored.stop();
    }
  });

  it("pushes with an aux result, and wants credentials in the header or the body", async () => {
    const target = `${registry.host}/pushed/img`;
    expect((await d.request("POST", `/images/${registry.host}/test/img:1/tag?repo=${encodeURIComponent(target)}&tag=2`)).status).toBe(201);
    const r = await d.request("POST", `/v1.41/images/${target}/push?tag=2`, { headers: anonymous });
    expect(r.status).toBe(200);
    const lines = r.lines<{ status?: string; aux?: { Tag: string; Digest: string; Size: number } }>();
    expect(lines[0]!.status).toBe(`The push refers to repository [${target}]`);
    const aux = lines.find((l) => l.aux)!.aux!;
    expect(aux.Tag).toBe("2");
    expect(aux.Digest).toMatch(/^sha256:/);
    const noAuth = await d.request("POST", `/images/${target}/push?tag=2`);
    expect([noAuth.status, noAuth.json()]).toEqual([400, { message: "Bad parameters and missing X-Registry-Auth: EOF" }]);
  });

  it("counts requests, bytes pulled and pushed and layers extracted on --metrics-addr", async () => {
    const at = d.daemon.metrics!;
    const text = await (await fetch(`http://${at.host}:${at.port}/metrics`)).text();
    const value = (line: RegExp) => Number(line.exec(text)?.[1]);
    expect(value(/^stored_pulled_bytes_total (\d+)$/m)).toBeGreaterThan(0);
    // The pushed image's blobs were in the registry already (mounted, not sent): no bytes.
    expect(value(/^stored_pushed_bytes_total (\d+)$/m)).toBe(0);
    expect(value(/^stored_layers_extracted_total (\d+)$/m)).toBe(2);
    expect(value(/^stored_requests_total\{route="\/images\/create",method="POST",status="200"\} (\d+)$/m)).toBe(3);
    expect(value(/^stored_requests_total\{route="\/images\/\{name\}\/push",method="POST",status="400"\} (\d+)$/m)).toBe(1);
    expect(value(/^stored_operations_total\{operation="pull",result="ok"\} (\d+)$/m)).toBe(3);
    expect(text).toMatch(/^stored_request_duration_seconds_count\{route="\/images\/create"\} \d+$/m);
  });
});
