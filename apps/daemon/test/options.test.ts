import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { withTempDir } from "@store/test-support";
import { describe, expect, it } from "vitest";
import { isStoreError } from "@store/errors";
import { parseDaemonArgs } from "../src/daemon-options";
import { defaultSocket } from "../src/default-socket";

const env = { HOME: "/h", XDG_RUNTIME_DIR: "/run/user/1000" };

async function options(argv: string[], e: Record<string, string> = env) {
  const c = await parseDaemonArgs(argv, e);
  if (c.kind !== "run") throw new Error(`expected run, got ${c.kind}`);
  return c.options;
}

async function refused(argv: string[]): Promise<Error> {
  const e = await parseDaemonArgs(argv, env).catch((err: unknown) => err);
  expect(isStoreError(e)).toBe(true);
  return e as Error;
}

describe("stored's flags", () => {
  it("defaults: the store CLI's root, a socket in the runtime dir, dockerd's concurrency", async () => {
    expect(await options([])).toEqual({
      dataRoot: "/h/.local/share/store",
      hosts: ["unix:///run/user/1000/stored.sock"],
      storageDriver: "overlay2",
      insecureRegistries: [],
      registryMirrors: [],
      maxConcurrentDownloads: 3,
      maxConcurrentUploads: 5,
      logLevel: "info",
    });
    expect((await options([], { STORE_ROOT: "/s" })).dataRoot).toBe("/s");
    expect(defaultSocket({}, 0)).toBe("/run/stored.sock");
    expect(defaultSocket({}, 1000)).toMatch(/stored-1000\.sock$/);
  });

  it("takes dockerd's spellings: long, short, =, repeated lists", async () => {
    const o = await options([
      "--data-root=/r",
      "-H",
      "unix:///a.sock",
      "--host",
      "unix:///b.sock",
      "-p",
      "/p.pid",
      "-s",
      "overlay2",
      "-G",
      "docker",
      "--insecure-registry",
      "reg:5000",
      "--insecure-registry=10.0.0.0/8",
      "--max-concurrent-downloads",
      "7",
      "--max-concurrent-uploads=2",
      "--registry-mirror",
      "https://mirror.example",
      "--metrics-addr",
      "127.0.0.1:9323",
      "-D",
    ]);
    expect(o).toEqual({
      dataRoot: "/r",
      hosts: ["unix:///a.sock", "unix:///b.sock"],
      pidfile: "/p.pid",
      storageDriver: "overlay2",
      group: "docker",
      insecureRegistries: ["reg:5000", "10.0.0.0/8"],
      registryMirrors: ["https://mirror.example"],
      maxConcurrentDownloads: 7,
      maxConcurrentUploads: 2,
      metricsAddr: "127.0.0.1:9323",
      logLevel: "debug",
    });
    expect((await parseDaemonArgs(["--help"], env)).kind).toBe("help");
    expect((await parseDaemonArgs(["-v"], env)).kind).toBe("version");
  });

  it("refuses bad command lines with one clear line", async () => {
    expect((await refused(["--nope"])).message).toBe("unknown flag: --nope\nSee 'stored --help'.");
    expect((await refused(["--data-root"])).message).toBe("flag needs an argument: --data-root");
    expect((await refused(["--log-level", "loud"])).message).toBe("unable to parse logging level: loud");
    expect((await refused(["--max-concurrent-downloads", "0"])).message).toMatch(/expected a positive integer/);
    expect((await refused(["-H", "ssh://host"])).message).toMatch(/only unix:\/\/PATH, fd:\/\/ and tcp:\/\/HOST:PORT \(with --tlsverify\) are served/);
    expect((await refused(["-H", "tcp://0.0.0.0:2375"])).message).toBe(
      "tcp://0.0.0.0:2375 needs --tlsverify (mutual TLS): without it anyone who can reach the port controls the store",
    );
    const tls = await options(["-H", "tcp://127.0.0.1", "--tlsverify", "--tlscacert", "/c/ca.pem"], { ...env, DOCKER_CERT_PATH: "/certs" });
    expect(tls.tls).toEqual({ ca: "/c/ca.pem", cert: "/certs/cert.pem", key: "/certs/key.pem" });
    expect((await refused(["extra"])).message).toMatch(/accepts no arguments/);
    expect((await refused(["--metrics-addr", "9323"])).message).toBe('invalid --metrics-addr "9323": expected host:port');
  });

  it("takes a shared tier's bucket, prefix, endpoint, region, collection windows and registry address", async () => {
    const o = await options(["--s3-bucket", "images", "--s3-prefix", "ci/", "--s3-endpoint", "http://127.0.0.1:7480", "--registry-addr", "0.0.0.0:5000"]);
    expect(o.shared).toEqual({ bucket: "images", prefix: "ci/", endpoint: "http://127.0.0.1:7480", gcIntervalSeconds: 3600, gcGraceSeconds: 600 });
    expect(o.registryAddr).toBe("0.0.0.0:5000");
    expect((await options(["--s3-bucket", "b", "--s3-region", "eu-west-1", "--shared-gc-interval", "0"])).shared).toMatchObject({
      region: "eu-west-1",
      gcIntervalSeconds: 0,
    });
    expect((await options([])).shared).toBeUndefined();
    expect((await refused(["--s3-prefix", "p"])).message).toBe("--s3-prefix needs --s3-bucket: it configures the shared tier");
    expect((await refused(["--registry-addr", "127.0.0.1:5000"])).message).toBe("--registry-addr needs --s3-bucket: it configures the shared tier");
    expect((await refused(["--s3-bucket", "b", "--s3-endpoint", "rgw:7480"])).message).toBe(
      'invalid --s3-endpoint "rgw:7480": expected an http:// or https:// URL',
    );
    expect((await refused(["--s3-bucket", "b", "--shared-gc-grace", "1h"])).message).toBe('invalid --shared-gc-grace "1h": expected whole seconds');
    expect((await refused(["--s3-bucket", "b", "--registry-addr", "5000"])).message).toBe('invalid --registry-addr "5000": expected host:port');
  });

  it("reads daemon.json with the flags' keys; unknown keys and keys also given as flags are errors", async () => {
    await withTempDir(async (dir) => {
      const file = join(dir, "daemon.json");
      await writeFile(file, JSON.stringify({ "data-root": "/j", hosts: ["unix:///j.sock"], "insecure-registries": ["r:1"], "log-level": "warn" }));
      const o = await options(["--config-file", file]);
      expect(o).toMatchObject({ dataRoot: "/j", hosts: ["unix:///j.sock"], insecureRegistries: ["r:1"], logLevel: "warn", configFile: file });

      await writeFile(file, JSON.stringify({ "data-root": "/j", bogus: 1 }));
      expect((await refused(["--config-file", file])).message).toBe(
        `unable to configure the daemon with file ${file}: the following directives don't match any configuration option: bogus`,
      );
      await writeFile(file, JSON.stringify({ "data-root": "/j" }));
      expect((await refused(["--config-file", file, "--data-root", "/f"])).message).toMatch(
        /the following directives are specified both as a flag and in the configuration file: data-root: \(from flag: "\/f", from file: "\/j"\)$/,
      );
      await writeFile(file, "{not json");
      expect((await refused(["--config-file", file])).message).toMatch(/^unable to configure the daemon with file .*: /);
      expect((await refused(["--config-file", join(dir, "missing.json")])).message).toMatch(/no such file or directory$/);
    });
  });
});
