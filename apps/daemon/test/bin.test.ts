import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { registrySkipReason, startFaultProxy, startRegistry, writeDockerArchive } from "@store/test-peers";
import { openStore } from "@store/service";
import { buildTestImage, uploadTestImage, withTempDir } from "@store/test-support";
import { describe, expect, it } from "vitest";
import { requestOn, runCli } from "./helpers";

const bin = join(import.meta.dirname, "..", "bin", "stored.js");
const isRoot = process.getuid?.() === 0;

/** Starts `stored args` and resolves once its socket answers. */
async function startStored(args: string[], socket: string): Promise<{ child: ChildProcess; stderr: () => string; exited: Promise<number | null> }> {
  const child = spawn(process.execPath, [bin, ...args], { stdio: ["ignore", "ignore", "pipe"], env: { PATH: process.env.PATH, HOME: "/nonexistent" } });
  let err = "";
  child.stderr!.setEncoding("utf8").on("data", (s: string) => (err += s));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`stored exited ${child.exitCode}: ${err}`);
    if (
      existsSync(socket) &&
      (await requestOn(socket, "GET", "/_ping").then(
        (r) => r.status === 200,
        () => false,
      ))
    )
      break;
    if (Date.now() > deadline) throw new Error(`stored did not answer: ${err}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, stderr: () => err, exited };
}

describe("the stored executable", () => {
  it("prints its version and help, and refuses a bad flag with exit 125 and one line", async () => {
    const env = { PATH: process.env.PATH };
    expect((await runCli(process.execPath, [bin, "--version"], env)).stdout).toMatch(/^stored version \d+\.\d+\.\d+\n$/);
    const help = await runCli(process.execPath, [bin, "--help"], env);
    expect([help.code, help.stdout]).toEqual([0, expect.stringContaining("--data-root string")]);
    const bad = await runCli(process.execPath, [bin, "--bogus"], env);
    expect([bad.code, bad.stderr]).toEqual([125, "stored: unknown flag: --bogus\nSee 'stored --help'.\n"]);
  });

  it.skipIf(!isRoot)("refuses a second daemon on the root; SIGTERM mid-load undoes the load and removes socket and pidfile", async () => {
    await withTempDir(async (dir) => {
      const root = join(dir, "root");
      const socket = join(dir, "a.sock");
      const pidfile = join(dir, "stored.pid");
      const first = await startStored(["--data-root", root, "-H", `unix://${socket}`, "--pidfile", pidfile], socket);
      expect(readFileSync(pidfile, "utf8")).toBe(String(first.child.pid));

      const second = await runCli(process.execPath, [bin, "--data-root", root, "-H", `unix://${join(dir, "b.sock")}`], { PATH: process.env.PATH });
      expect(second.code).toBe(1);
      expect(second.stderr).toBe(
        `stored: the data root ${root} is in use by process ${first.child.pid} (another stored, or a store command writing to it): one daemon per data root\n`,
      );
      const taken = await runCli(process.execPath, [bin, "--data-root", join(dir, "other"), "-H", `unix://${socket}`], { PATH: process.env.PATH });
      expect([taken.code, taken.stderr]).toEqual([1, `stored: a daemon is already listening on ${socket}\n`]);

      // A load whose body stops half-way, then SIGTERM: the daemon aborts it and exits cleanly.
      await writeDockerArchive(join(dir, "app.tar"), "app:1", [{ "a.txt": "a".repeat(100_000) }]);
      const archive = readFileSync(join(dir, "app.tar"));
      let release!: () => void;
      const held = new Promise<void>((r) => (release = r));
      const load = requestOn(socket, "POST", "/images/load", {
        body: (async function* () {
          yield archive.subarray(0, archive.length / 2);
          await held;
        })(),
      }).catch((e: Error) => e);
      await new Promise((r) => setTimeout(r, 300));
      first.child.kill("SIGTERM");
      expect(await first.exited).toBe(0);
      release();
      await load;
      expect(existsSync(socket)).toBe(false);
      expect(existsSync(pidfile)).toBe(false);

      // The root's lock is free again, and the half load left nothing.
      const again = await startStored(["--data-root", root, "-H", `unix://${socket}`], socket);
      expect((await requestOn(socket, "GET", "/images/json?all=1")).json()).toEqual([]);
      const layerdb = join(root, "image", "overlay2", "layerdb", "sha256");
      expect(existsSync(layerdb) ? readdirSync(layerdb) : []).toEqual([]);
      expect(readdirSync(join(root, "overlay2")).filter((n) => n !== "l")).toEqual([]);
      again.child.kill("SIGTERM");
      expect(await again.exited).toBe(0);
      expect(first.stderr()).toMatch(/"msg":"daemon stopped"/);
    });
  });

  it.skipIf(!isRoot || registrySkipReason())("kill -9 mid-pull and mid-load: the root opens again, verifies clean, and the same commands succeed", async () => {
    const registry = await startRegistry();
    const proxy = await startFaultProxy({ target: registry.url });
    try {
      await withTempDir(async (dir) => {
        const root = join(dir, "root");
        const socket = join(dir, "a.sock");
        const big = randomBytes(300_000).toString("base64");
        const image = await buildTestImage([{ "a.txt": "a\n" }, { "big.txt": big }]);
        await uploadTestImage(registry.host, "big/img", "1", image);
        const bigBlob = image.layers[1]!.digest;
        await writeDockerArchive(join(dir, "app.tar"), "app:1", [{ "big.txt": big }]);
        const archive = readFileSync(join(dir, "app.tar"));
        const ref = encodeURIComponent(`${proxy.host}/big/img`);
        const auth = { "X-Registry-Auth": "e30=" };

        // The big layer's download stalls part-way; the daemon is killed while it waits.
        proxy.setFaults([{ method: "GET", path: bigBlob, fault: { kind: "stall", ms: 30_000, afterBytes: 50_000 }, times: 1 }]);
        const first = await startStored(["--data-root", root, "-H", `unix://${socket}`], socket);
        const pull = requestOn(socket, "POST", `/images/create?fromImage=${ref}&tag=1`, { headers: auth }).catch((e: Error) => e);
        const loadBody = (async function* () {
          yield archive.subarray(0, archive.length / 2);
          await new Promise(() => undefined); // never finishes
        })();
        const load = requestOn(socket, "POST", "/images/load", { body: loadBody }).catch((e: Error) => e);
        const deadline = Date.now() + 10_000;
        while (!proxy.requests.some((r) => r.path.includes(bigBlob) && r.bytes >= 50_000) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        await new Promise((r) => setTimeout(r, 200));
        first.child.kill("SIGKILL");
        await first.exited;
        await Promise.all([pull, load]);
        proxy.setFaults([]);

        const again = await startStored(["--data-root", root, "-H", `unix://${socket}`], socket);
        try {
          const reader = await openStore({ root, access: "read" });
          try {
            expect((await reader.verify()).problems).toEqual([]);
          } finally {
            await reader.close();
          }
          const pulled = await requestOn(socket, "POST", `/images/create?fromImage=${ref}&tag=1`, { headers: auth });
          expect(pulled.lines<{ status: string }>().at(-1)!.status).toBe(`Status: Downloaded newer image for ${proxy.host}/big/img:1`);
          const loaded = await requestOn(socket, "POST", "/images/load", { body: archive });
          expect(loaded.lines().at(-1)).toEqual({ stream: "Loaded image: app:1\n" });
        } finally {
          again.child.kill("SIGTERM");
          await again.exited;
        }
      });
    } finally {
      await proxy.stop();
      await registry.stop();
    }
  });

  it.skipIf(!isRoot || !existsSync("/usr/bin/systemd-socket-activate"))("serves a socket systemd passed (-H fd://) and leaves it in place", async () => {
    await withTempDir(async (dir) => {
      const socket = join(dir, "activated.sock");
      const child = spawn("/usr/bin/systemd-socket-activate", ["-l", socket, process.execPath, bin, "--data-root", join(dir, "root"), "-H", "fd://"], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { PATH: process.env.PATH, HOME: "/nonexistent" },
      });
      let err = "";
      child.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
      const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
      const deadline = Date.now() + 10_000;
      while (!existsSync(socket) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      // The first connection starts the daemon, which then answers it.
      const ping = await requestOn(socket, "GET", "/_ping");
      expect(ping.text, err).toBe("OK");
      expect(err).toMatch(/"sockets":\["fd:\/\/3"\]/);
      child.kill("SIGTERM");
      expect(await exited).toBe(0);
    });
  });
});
