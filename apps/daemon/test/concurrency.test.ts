import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type RegistryPeer, registrySkipReason, startRegistry, writeDockerArchive } from "@store/test-peers";
import { buildTestImage, uploadTestImage } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type TestDaemon, startTestDaemon } from "./helpers";

describe.skipIf(process.getuid?.() !== 0 || registrySkipReason())("8 clients at once", () => {
  let d: TestDaemon;
  let registry: RegistryPeer;
  let archive: Buffer;

  beforeAll(async () => {
    [d, registry] = await Promise.all([startTestDaemon(), startRegistry()]);
    await writeDockerArchive(join(d.dir, "app.tar"), "app:1", [{ "a.txt": "a\n" }, { "b.txt": "b".repeat(50_000) }]);
    archive = readFileSync(join(d.dir, "app.tar"));
    await uploadTestImage(registry.host, "shared/img", "1", await buildTestImage([{ "a.txt": "a\n" }, { "c.txt": "c".repeat(50_000) }]));
  });
  afterAll(async () => {
    await d?.stop();
    await registry?.stop();
  });

  it("pulling, loading, tagging and removing the same images: each succeeds or fails cleanly, and the root verifies clean", async () => {
    const ref = `${registry.host}/shared/img`;
    const auth = { "X-Registry-Auth": "e30=" };
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, async (_, i) => {
        const done: string[] = [];
        const pull = await d.request("POST", `/images/create?fromImage=${encodeURIComponent(ref)}&tag=1`, { headers: auth });
        done.push(`pull ${pull.status} ${pull.lines().at(-1)?.status ?? pull.text}`);
        const load = await d.request("POST", "/images/load", { body: archive });
        done.push(`load ${load.lines().at(-1)?.stream ?? load.text}`);
        const tag = await d.request("POST", `/images/app:1/tag?repo=client&tag=${i}`);
        done.push(`tag ${tag.status}`);
        const rmi = await d.request("DELETE", `/images/client:${i}`);
        done.push(`rmi ${rmi.status}`);
        const rmiShared = await d.request("DELETE", `/images/${encodeURIComponent(ref)}:1`);
        done.push(`rmi-shared ${rmiShared.status}`);
        return done;
      }),
    );
    for (const done of outcomes) {
      expect(done[0]).toMatch(/^pull 200 Status: (Downloaded newer image|Image is up to date) for /);
      expect(done[1]).toBe("load Loaded image: app:1\n");
      expect(done.slice(2, 4)).toEqual(["tag 201", "rmi 200"]);
      // Another client may have removed the shared tag first: a clean 404, nothing else.
      expect(["rmi-shared 200", "rmi-shared 404"]).toContain(done[4]);
    }
    const report = await d.daemon.service.verify();
    expect(report.problems).toEqual([]);
    const tags = (await d.request("GET", "/images/json")).json<{ RepoTags: string[] }[]>().flatMap((i) => i.RepoTags);
    expect(tags).toEqual(["app:1"]);
  });
});
