#!/usr/bin/env node
// Benchmark (issue #12 item 9): `docker pull` vs containerd's `ctr image pull` (vs `store pull`
// once the CLI has it) of the same images from the same registry, alternating, with each side's
// image removed and its content pruned between rounds outside the timed part; medians and ratios.
// Images: the ≈190 MB / 13,000-file / 5-layer image of the load/save benchmarks (built by the
// benchmark's dockerd) and a one-layer 500 MB incompressible-ish image, pushed once with skopeo.
// Setups: (a) the registry on loopback; (b) the registry in a network namespace of the
// benchmark's own behind a veth rate-limited to 1 Gbit/s (tbf) with 10 ms added each way by a
// delay relay (20 ms RTT; this kernel has no netem: see delay-relay.mjs).
// Then two figures on loopback: two concurrent pulls of one image vs one pull, and a pull killed
// (SIGKILL) half-way through the 500 MB layer and restarted: bytes fetched again / total, counted
// by a TCP proxy in front of the registry.
// Runs on a fresh loop-mounted ext4 of its own (see makeWorkDir in archive-support.mjs).
// Usage: node bench/pull.mjs [--rounds 3] [--mib 190] [--files 13000] [--big-mib 500] [--no-netns] [--no-figures] [--host-fs]
// Needs root, dockerd + ctr (docker.io), docker-registry, skopeo, ip and tc; `store pull` needs
// the built CLI (npm run build). About 6 minutes with 5 rounds.
//
// Figures seen (5 rounds, 2 shared cores at load 9-10, so noisy; medians):
//   loopback, 190 MB / 5 layers:  docker 3.56 s, ctr 3.29 s (0.92x)
//   loopback, 500 MiB / 1 layer:  docker 4.88 s, ctr 9.79 s (2.00x; best 6.79 s)
//   netns 20 ms, 190 MB:          docker 3.72 s, ctr 3.97 s (1.07x)
//   netns 20 ms, 500 MiB:         docker 6.82 s, ctr 7.91 s (1.16x)
//   two concurrent pulls:         docker 1.09x one pull, ctr 3.07x (its ingest locks back off)
//   killed half-way, restarted:   docker fetches 100% again, ctr 51% (it resumes its ingest)
// With `store pull` (2026-12-06, 3 rounds, load average 1.2-2.9, medians; store / docker):
//   loopback, 190 MB / 5 layers:  docker 3.09 s, ctr 3.30 s (1.07x), store 2.82 s (0.91x)
//   loopback, 500 MiB / 1 layer:  docker 4.23 s, ctr 6.50 s (1.54x), store 3.17 s (0.75x)
//   netns 20 ms, 190 MB:          docker 4.35 s, ctr 4.28 s (0.98x), store 3.33 s (0.77x)
//   netns 20 ms, 500 MiB:         docker 7.07 s, ctr 7.74 s (1.10x), store 4.74 s (0.67x)
//   two concurrent pulls:         docker 1.29x one pull, ctr 2.43x, store 0.83x
//   killed half-way, restarted:   docker 100% fetched again, ctr 54%, store 51%
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { arg, buildBenchImage, makeWorkDir, median, settle, startDockerd } from "./archive-support.mjs";
import {
  createNetns,
  freePort,
  manifestOf,
  runAsync,
  skopeoPush,
  sleep,
  startCountingProxy,
  startDelayRelay,
  startRegistryProcess,
  waitForRegistry,
  writeOneLayerArchive,
} from "./pull-support.mjs";

const rounds = arg("rounds", 3);
const bigMiB = arg("big-mib", 500);
const wantNetns = !process.argv.includes("--no-netns");
const wantFigures = !process.argv.includes("--no-figures");

// How the `store` side is invoked: `--insecure-registry` (a global option) lets it use plain HTTP
// to the namespace's registry, which is not on loopback.
const storeBin = fileURLToPath(new URL("../apps/cli/bin/store.js", import.meta.url));
const storePullArgs = (root, ref, insecureHost) => [storeBin, "--root", root, ...(insecureHost ? ["--insecure-registry", insecureHost] : []), "pull", ref];

/** Why the store side is skipped, or undefined when `store pull` exists. */
function storeSkipReason() {
  const r = spawnSync(process.execPath, [storeBin, "--help"], { encoding: "utf8" });
  if (r.status !== 0) return `the store CLI does not run (${(r.stderr || "").trim().split("\n")[0]}); run npm run build`;
  return /^\s+pull\s/m.test(r.stdout) ? undefined : "the store CLI has no `pull` command yet";
}

const DEAD_PROXY = "http://127.0.0.1:9";
const fmt = (v) => `${v.toFixed(2)} s`;

const workDir = await makeWorkDir("pull");
const work = workDir.dir;
const cleanups = [];
try {
  let netns;
  if (wantNetns) {
    try {
      netns = createNetns({ subnet: 0 });
      cleanups.push(() => netns.destroy());
    } catch (e) {
      console.log(`setup (b) skipped: cannot make a network namespace here: ${e.message.split("\n")[0]}`);
    }
  }
  const nsHost = netns ? `${netns.nsAddr}:5000` : undefined;
  const noProxy = ["localhost", "127.0.0.1", ...(netns ? [netns.nsAddr] : [])].join(",");
  const clientEnv = { PATH: process.env.PATH, HOME: join(work, "home"), HTTP_PROXY: DEAD_PROXY, HTTPS_PROXY: DEAD_PROXY, NO_PROXY: noProxy, no_proxy: noProxy };

  // The registry: one storage, served on loopback and (later) from inside the namespace.
  const dataDir = join(work, "registry-data");
  const loopPort = await freePort();
  const loopRegistry = await startRegistryProcess({ dir: join(work, "registry-loopback"), dataDir, addr: `127.0.0.1:${loopPort}` });
  cleanups.push(() => loopRegistry.stop());
  const loopUrl = `http://127.0.0.1:${loopPort}`;
  await waitForRegistry(loopUrl, 20_000, loopRegistry.logPath);

  const dockerd = await startDockerd(work, { extraArgs: nsHost ? ["--insecure-registry", nsHost] : [], noProxy: netns ? [netns.nsAddr] : [] });
  cleanups.push(() => dockerd.stop());
  const { docker } = dockerd;
  const ctrSocket = join(dockerd.execRoot, "containerd", "containerd.sock");
  const ctr = (args, opts = {}) => runAsync("ctr", ["--address", ctrSocket, "-n", "bench", ...args], { env: clientEnv, ...opts });

  // The images, pushed once with skopeo (gzip layers, Docker schema2 manifests).
  console.log("building the images…");
  await buildBenchImage(work, docker, { mib: arg("mib", 190), files: arg("files", 13000) });
  const filesArchive = join(work, "files.tar");
  docker(["save", "-o", filesArchive, "bench:1"]);
  docker(["rmi", "bench:1"]);
  skopeoPush(filesArchive, `127.0.0.1:${loopPort}/bench/files:1`);
  const bigArchive = join(work, "big.tar");
  await writeOneLayerArchive(bigArchive, "big:1", { mib: bigMiB });
  skopeoPush(bigArchive, `127.0.0.1:${loopPort}/bench/big:1`);
  await rm(filesArchive);
  await rm(bigArchive);
  const images = [
    { name: "bench/files", label: `${arg("mib", 190)} MB, ${arg("files", 13000)} files, 5 layers`, ...(await manifestOf(loopUrl, "bench/files", "1")) },
    { name: "bench/big", label: `${bigMiB} MiB, 1 layer`, ...(await manifestOf(loopUrl, "bench/big", "1")) },
  ];

  // The sides: pull(ref, host) runs one pull; clean(ref) removes what it left, outside the timing.
  const layerdb = join(dockerd.root, "image", "overlay2", "layerdb", "sha256");
  const sides = [
    {
      name: "docker pull",
      pull: (ref, _insecure, opts) => runAsync("docker", ["pull", "-q", ref], { env: dockerd.env, ...opts }),
      async clean(ref) {
        docker(["rmi", ref], { allowFailure: true });
        docker(["image", "prune", "-f"]);
        const left = readdirSync(layerdb);
        if (left.length > 0) throw new Error(`dockerd still holds ${left.length} layers after rmi and prune`);
      },
    },
    {
      name: "ctr image pull",
      pull: (ref, _insecure, opts) => ctr(["image", "pull", "--plain-http", ref], opts),
      async clean(ref) {
        await ctr(["image", "rm", "--sync", ref]);
        // A ctr killed mid-pull leaves its lease (24 h expiry), which keeps what it fetched from GC.
        const leases = (await ctr(["leases", "ls", "-q"])).stdout.split("\n").filter(Boolean);
        if (leases.length > 0) await ctr(["leases", "delete", "--sync", ...leases]);
        const content = (await ctr(["content", "ls", "-q"])).stdout.trim();
        const snapshots = (await ctr(["snapshots", "ls"])).stdout.trim().split("\n").slice(1).filter(Boolean);
        if (content || snapshots.length > 0) throw new Error(`containerd still holds content or snapshots after rm --sync: ${content} ${snapshots.join(" ")}`);
      },
    },
  ];
  const storeSkip = storeSkipReason();
  if (storeSkip) {
    console.log(`store side skipped: ${storeSkip}`);
  } else {
    const storeRoot = join(work, "store-root");
    sides.push({
      name: "store pull",
      pull: (ref, insecure, opts) => runAsync(process.execPath, storePullArgs(storeRoot, ref, insecure), { env: clientEnv, ...opts }),
      clean: () => rm(storeRoot, { recursive: true, force: true }),
    });
  }
  const pullOnce = async (side, ref, insecure, opts) => {
    const r = await side.pull(ref, insecure, opts);
    if (r.code !== 0 && !opts?.mayFail) throw new Error(`${side.name} ${ref} exited ${r.code ?? r.signal}: ${r.stderr.trim().slice(-2000)}`);
    return r;
  };

  // Warm-up, not counted: page cache of the registry's blobs, dockerd's and containerd's first pulls.
  for (const side of sides) {
    const ref = `127.0.0.1:${loopPort}/bench/files:1`;
    await pullOnce(side, ref);
    await side.clean(ref);
  }

  const setups = [{ name: "loopback", host: `127.0.0.1:${loopPort}`, insecure: undefined }];
  if (netns) {
    const nsRegistry = await startRegistryProcess({ dir: join(work, "registry-netns"), dataDir, addr: "127.0.0.1:5001", netns: netns.name });
    cleanups.push(() => nsRegistry.stop());
    const relay = await startDelayRelay({ listen: `${netns.nsAddr}:5000`, target: "127.0.0.1:5001", delayMs: 10, netns: netns.name });
    cleanups.push(() => relay.stop());
    await waitForRegistry(`http://${nsHost}`, 20_000, nsRegistry.logPath);
    // What a request pays there: GET /v2/ on a kept-alive connection (ICMP would bypass the relay).
    const rtts = [];
    for (let i = 0; i < 6; i++) {
      const start = process.hrtime.bigint();
      await (await fetch(`http://${nsHost}/v2/`)).text();
      if (i > 0) rtts.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    const rtt = median(rtts).toFixed(1);
    setups.push({ name: `netns (1 Gbit/s tbf veth, +10 ms each way by relay; GET /v2/ takes ${rtt} ms)`, host: nsHost, insecure: nsHost });
  }

  const results = [];
  for (const setup of setups) {
    for (const image of images) {
      const ref = `${setup.host}/${image.name}:1`;
      const times = new Map(sides.map((s) => [s.name, []]));
      for (let i = 0; i < rounds; i++) {
        for (const side of sides) {
          settle();
          const r = await pullOnce(side, ref, setup.insecure);
          times.get(side.name).push(r.s);
          await side.clean(ref);
        }
      }
      results.push({ setup, image, times });
      const docker = median(times.get("docker pull"));
      console.log(
        `\n${setup.name} — ${image.name}:1 (${image.label}; ${(image.bytes / 1e6).toFixed(0)} MB compressed); ${rounds} rounds, alternating (goal for store: <= 0.5x docker)`,
      );
      for (const [name, t] of times) {
        const ratio = name === "docker pull" ? "" : `  ${(median(t) / docker).toFixed(2)}x docker`;
        console.log(
          `  ${name.padEnd(15)} median ${fmt(median(t))} (${(image.bytes / 1e6 / median(t)).toFixed(0)} MB/s)  best ${fmt(Math.min(...t))}  all ${t.map((s) => s.toFixed(2)).join(" ")}${ratio}`,
        );
      }
    }
  }

  if (wantFigures) {
    // Two concurrent pulls of one image (same daemon or root) vs that side's median single pull.
    const files = images[0];
    const single = results.find((r) => r.setup === setups[0] && r.image === files).times;
    console.log(`\ntwo concurrent pulls of ${files.name}:1 on loopback (goal for store: <= 1.1x one pull)`);
    for (const side of sides) {
      const ref = `${setups[0].host}/${files.name}:1`;
      settle();
      const start = process.hrtime.bigint();
      await Promise.all([pullOnce(side, ref), pullOnce(side, ref)]);
      const s = Number(process.hrtime.bigint() - start) / 1e9;
      await side.clean(ref);
      console.log(`  ${side.name.padEnd(15)} ${fmt(s)} for both = ${(s / median(single.get(side.name))).toFixed(2)}x its median single pull`);
    }

    // A pull killed (SIGKILL) once half the bytes went through, then run again: what the second run fetched.
    const big = images[1];
    const proxy = await startCountingProxy({ host: "127.0.0.1", port: loopPort });
    cleanups.push(() => proxy.close());
    const ref = `127.0.0.1:${proxy.port}/${big.name}:1`;
    console.log(`\npull killed half-way and restarted, ${big.name}:1 (${(big.bytes / 1e6).toFixed(0)} MB) on loopback (goal for store: <= 55% fetched again)`);
    for (const side of sides) {
      proxy.reset();
      let killedAt = 0;
      await pullOnce(side, ref, undefined, {
        mayFail: true,
        onSpawn: (child) => {
          const timer = setInterval(() => {
            if (proxy.bytes >= big.bytes / 2) {
              killedAt = proxy.bytes;
              child.kill("SIGKILL");
              clearInterval(timer);
            }
          }, 5);
          child.once("exit", () => clearInterval(timer));
        },
      });
      // Let the daemon notice its client is gone (dockerd cancels the pull; containerd keeps the ingest).
      await sleep(1_000);
      proxy.reset();
      const again = await pullOnce(side, ref);
      const fetched = proxy.bytes;
      await side.clean(ref);
      console.log(
        `  ${side.name.padEnd(15)} killed after ${(killedAt / 1e6).toFixed(0)} MB; the restart fetched ${(fetched / 1e6).toFixed(0)} MB = ${((100 * fetched) / big.bytes).toFixed(0)}% of ${(big.bytes / 1e6).toFixed(0)} MB in ${fmt(again.s)}`,
      );
    }
  }
} finally {
  for (const cleanup of cleanups.reverse()) await Promise.resolve(cleanup()).catch((e) => console.error(`cleanup: ${e.message}`));
  await workDir.dispose();
}
