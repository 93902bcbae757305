import { execFileSync, spawn } from "node:child_process";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type RegistryPeer, hasRoot } from "@store/test-peers";
import { bundleFixture, tempDir } from "@store/test-support";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installFsFaults } from "../src";
import { type Command, done, leftovers, runCommand } from "./support/commands";
import { type SuiteFixtures, suiteFixtures } from "./support/fixtures";

installFsFaults();
const { openStore } = await import("@store/service");

/** Runs the child on `root`: its exit code or signal, and what it printed (the dry run's count). */
function child(script: string, root: string, c: Command, failAt: number): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, [script, root, JSON.stringify(c), String(failAt)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    p.stdout.setEncoding("utf8").on("data", (s: string) => (out += s));
    p.stderr.setEncoding("utf8").on("data", (s: string) => (err += s));
    p.on("error", reject);
    p.on("close", (code, signal) => resolve({ code, signal, out, err }));
  });
}

// The process killed (SIGKILL: no handler, no finally) just before its Nth write, rename, fsync
// or delete under the root, for every N of a load, an import, an rmi and a pull: the root opens
// (the dead writer's lock taken over at once), verify finds no damage, the command run again
// succeeds. Real overlay2 and registry, as the in-process suite.
describe.skipIf(!hasRoot())("a command killed at any write is survived", () => {
  let dir: string;
  let remove: () => Promise<void>;
  let registry: RegistryPeer | undefined;
  let commands: SuiteFixtures["commands"] = {};
  let loaded: string;
  let script: string;
  const survived: Record<string, number> = {};
  const leaks: Record<string, number> = {};
  const leftoverKinds = new Set<string>();

  beforeAll(async () => {
    ({ path: dir, remove } = await tempDir("kill-suite-"));
    ({ commands, loaded, registry } = await suiteFixtures(dir, openStore));
    // Inside the repo, so that koffi (native, left out of the bundle) resolves from node_modules.
    const out = fileURLToPath(new URL(`../.tmp/fault-child-${process.pid}.mjs`, import.meta.url));
    script = await bundleFixture(new URL("./fixtures/fault-child.ts", import.meta.url), out, { external: ["koffi"] });
  });
  afterAll(async () => {
    await registry?.stop();
    await remove?.();
    if (script) await rm(script, { force: true });
    const total = Object.values(survived).reduce((a, b) => a + b, 0);
    console.log(`kill injection: ${total} SIGKILLs survived (${JSON.stringify(survived)}); leftovers after a kill: ${JSON.stringify(leaks)}`);
    for (const k of [...leftoverKinds].sort()) console.log(`  left: ${k}`);
  });

  let runs = 0;
  function freshRoot(c: Command): string {
    const root = join(dir, `run-${runs++}`);
    if (c.command === "rmi") execFileSync("cp", ["-a", loaded, root]);
    return root;
  }

  for (const name of ["load", "import", "rmi", "pull"] as const) {
    it(`${name}: SIGKILL at each write, rename, fsync and delete`, { timeout: 600_000 }, async (ctx) => {
      const c = commands[name];
      if (!c) return ctx.skip("no docker-registry on PATH");
      const dry = await child(script, freshRoot(c), c, 0);
      expect(dry.code, dry.err).toBe(0);
      const total = Number(dry.out.trim());
      expect(total).toBeGreaterThan(5);
      for (let n = 1; n <= total; n++) {
        const root = freshRoot(c);
        const run = await child(script, root, c, n);
        const where = `${name} SIGKILL at call ${n}/${total}`;
        expect([run.signal, run.err], where).toEqual(["SIGKILL", ""]);
        const store = await openStore({ root, lockTimeoutMs: 2_000 });
        try {
          expect(
            (await store.verify()).problems.map((p) => p.message),
            where,
          ).toEqual([]);
          const left = await leftovers(store);
          if (left.length > 0) leaks[name] = (leaks[name] ?? 0) + 1;
          for (const l of left) leftoverKinds.add(`${name}: ${l}`);
          if (!done(store, c)) await runCommand(store, c);
          expect(done(store, c), where).toBe(true);
          expect(
            (await store.verify()).problems.map((p) => p.message),
            where,
          ).toEqual([]);
        } finally {
          await store.close();
        }
        survived[name] = (survived[name] ?? 0) + 1;
        execFileSync("rm", ["-rf", root]);
      }
    });
  }
});
