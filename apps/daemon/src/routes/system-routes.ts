import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { availableParallelism, hostname, machine, release, totalmem } from "node:os";
import { isStoreError } from "@store/errors";
import type { DaemonContext } from "../daemon-context";
import { DaemonError, DaemonErrorCode } from "../errors";
import { eventJson, type ImageEvent } from "../events";

import { writeError, writeJson } from "../http/json-response";
import { filtersParam } from "../http/query";
import { authConfigFrom } from "../http/registry-auth";
import type { RequestContext, Route } from "../http/router";
import { readJsonBody } from "../http/request-body";
import { API_VERSION, MIN_API_VERSION, STORED_VERSION } from "../version";

const noCache = { "Cache-Control": "no-cache, no-store, must-revalidate", Pragma: "no-cache" };

/** The Go architecture name of this host (what /version's `Arch` says). */
function goArch(): string {
  return ({ x64: "amd64", ia32: "386", arm64: "arm64", arm: "arm", ppc64: "ppc64le", s390x: "s390x" } as Record<string, string>)[process.arch] ?? process.arch;
}

function operatingSystem(): string {
  try {
    return /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync("/etc/os-release", "utf8"))?.[1] ?? "Linux";
  } catch {
    return "Linux";
  }
}

/** `GET /version` (moby types.Version): an "Engine" component with the API versions served. */
function version(): unknown {
  const details = {
    ApiVersion: API_VERSION,
    Arch: goArch(),
    BuildTime: "",
    Experimental: "false",
    GitCommit: "",
    GoVersion: `node${process.versions.node}`,
    KernelVersion: release(),
    MinAPIVersion: MIN_API_VERSION,
    Os: "linux",
  };
  return {
    Platform: { Name: "store" },
    Components: [{ Name: "Engine", Version: STORED_VERSION, Details: details }],
    Version: STORED_VERSION,
    ApiVersion: API_VERSION,
    MinAPIVersion: MIN_API_VERSION,
    GitCommit: "",
    GoVersion: details.GoVersion,
    Os: "linux",
    Arch: details.Arch,
    KernelVersion: details.KernelVersion,
    BuildTime: "",
  };
}

/**
 * `GET /info` (moby types.Info): what `docker info` reads. The daemon runs no containers: the
 * container and cgroup capability fields are set so that the CLI prints no warnings about
 * features nobody here uses (with them absent it warns "No memory limit support" and nine more).
 */
function info(ctx: DaemonContext): unknown {
  const { service, options } = ctx;
  const insecure = options.insecureRegistries;
  const cidrs = ["127.0.0.0/8", ...insecure.filter((r) => r.includes("/"))];
  const mirrors = options.registryMirrors;
  const indexConfigs: Record<string, unknown> = { "docker.io": { Name: "docker.io", Mirrors: mirrors, Secure: true, Official: true } };
  for (const r of insecure.filter((r) => !r.includes("/"))) indexConfigs[r] = { Name: r, Mirrors: [], Secure: false, Official: false };
  return {
    ID: createHash("sha256").update(service.root).digest("hex").slice(0, 36).toUpperCase(),
    Containers: 0,
    ContainersRunning: 0,
    ContainersPaused: 0,
    ContainersStopped: 0,
    Images: service.images.records().length,
    Driver: service.driverName,
    DriverStatus: [
      ["Backing Filesystem", "extfs"],
      ["Supports d_type", "true"],
      ["Native Overlay Diff", "true"],
      ["userxattr", "false"],
    ],
    Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
    MemoryLimit: true,
    SwapLimit: true,
    CpuCfsPeriod: true,
    CpuCfsQuota: true,
    CPUShares: true,
    CPUSet: true,
    PidsLimit: true,
    IPv4Forwarding: true,
    BridgeNfIptables: true,
    BridgeNfIp6tables: true,
    Debug: options.logLevel === "debug",
    OomKillDisable: true,
    LoggingDriver: "",
    CgroupDriver: "none",
    CgroupVersion: "2",
    KernelVersion: release(),
    OperatingSystem: operatingSystem(),
    OSVersion: "",
    OSType: "linux",
    Architecture: machine(),
    IndexServerAddress: "https://index.docker.io/v1/",
    RegistryConfig: {
      AllowNondistributableArtifactsCIDRs: [],
      AllowNondistributableArtifactsHostnames: [],
      InsecureRegistryCIDRs: cidrs,
      IndexConfigs: indexConfigs,
      Mirrors: mirrors,
    },
    NCPU: availableParallelism(),
    MemTotal: totalmem(),
    DockerRootDir: service.root,
    Name: hostname(),
    Labels: [],
    ExperimentalBuild: false,
    ServerVersion: STORED_VERSION,
    Swarm: { LocalNodeState: "inactive" },
    LiveRestoreEnabled: false,
    SecurityOptions: [],
    Warnings: null,
  };
}

/** Parses an events `since`/`until`: Unix seconds (with a fraction) or an RFC 3339 time, as nanoseconds. */
function eventTime(value: string | null, name: string): bigint | undefined {
  if (value === null || value === "") return undefined;
  if (/^\d+(\.\d{1,9})?$/.test(value)) {
    const [s, frac = ""] = value.split(".");
    return BigInt(s!) * 1_000_000_000n + BigInt(frac.padEnd(9, "0"));
  }
  const ms = Date.parse(value);
  if (Number.isNaN(ms))
    throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid ${name} ${JSON.stringify(value)}: expected Unix seconds or an RFC 3339 time`);
  return BigInt(ms) * 1_000_000n;
}

/** `GET /events`: image events, past ones from `since`, new ones until `until` or the client leaves. */
async function events(ctx: DaemonContext, r: RequestContext): Promise<void> {
  const since = eventTime(r.query.get("since"), "since");
  const until = eventTime(r.query.get("until"), "until");
  const filters = filtersParam(r.query);
  const wanted = (name: string): Set<string> | undefined => {
    const v = (filters as Record<string, unknown>)[name];
    if (v === undefined) return undefined;
    return new Set(Array.isArray(v) ? v.map(String) : Object.keys(v as object).filter((k) => (v as Record<string, boolean>)[k]));
  };
  const types = wanted("type");
  const actions = wanted("event");
  const images = wanted("image");
  const match = (e: ImageEvent) =>
    (!types || types.has("image")) &&
    (!actions || actions.has(e.action)) &&
    (!images || images.has(e.id) || (e.attributes.name !== undefined && images.has(e.attributes.name))) &&
    (since === undefined || e.timeNano >= since) &&
    (until === undefined || e.timeNano <= until);
  // An events client is silent by design: no idle timeout for it.
  r.req.socket.setTimeout(0);
  r.res.writeHead(200, { "Content-Type": "application/json" });
  r.res.flushHeaders();
  const send = (e: ImageEvent) => {
    if (match(e)) r.res.write(`${eventJson(e)}\n`);
  };
  if (since !== undefined) for (const e of ctx.events.past()) send(e);
  const nowNano = BigInt(Date.now()) * 1_000_000n;
  if (until !== undefined && until <= nowNano) {
    r.res.end();
    return;
  }
  await new Promise<void>((resolve) => {
    const unsubscribe = ctx.events.subscribe(send);
    const finish = () => {
      unsubscribe();
      clearTimeout(timer);
      r.signal.removeEventListener("abort", finish);
      resolve();
    };
    const timer = until === undefined ? undefined : setTimeout(finish, Number((until - nowNano) / 1_000_000n));
    r.signal.addEventListener("abort", finish, { once: true });
  });
  if (!r.res.writableEnded) r.res.end();
}

/** `POST /auth`: checks credentials with the registry (dockerd's `docker login`); never stores them. */
async function auth(ctx: DaemonContext, r: RequestContext): Promise<void> {
  const body = await readJsonBody(r.req, 64 * 1024);
  const creds = authConfigFrom(body);
  const server = typeof (body as { serveraddress?: unknown })?.serveraddress === "string" ? (body as { serveraddress: string }).serveraddress : "";
  try {
    const result = await ctx.service.registry.login(server, { username: creds?.username ?? "", password: creds?.password ?? "" }, { signal: r.signal });
    writeJson(r.res, 200, { IdentityToken: result.identityToken ?? "", Status: result.status });
  } catch (e) {
    // Only here a refusal is 401, as dockerd's /auth: the CLI then says "unauthorized: …".
    if (isStoreError(e, ["ERR_REGISTRY_UNAUTHORIZED", "ERR_REGISTRY_DENIED"])) writeError(r.res, 401, e.message);
    else throw e;
  }
}

/** The system endpoints: ping, version, info, disk usage, auth, events. */
export function systemRoutes(ctx: DaemonContext): Route[] {
  let diskUsageRunning = false;
  return [
    {
      method: "HEAD",
      path: "/_ping",
      handler: (r) => {
        r.res.writeHead(200, { ...noCache, "Content-Type": "text/plain; charset=utf-8", "Content-Length": 0 });
        r.res.end();
      },
    },
    {
      method: "GET",
      path: "/_ping",
      handler: (r) => {
        r.res.writeHead(200, { ...noCache, "Content-Type": "text/plain; charset=utf-8", "Content-Length": 2 });
        r.res.end("OK");
      },
    },
    { method: "GET", path: "/version", handler: (r) => writeJson(r.res, 200, version()) },
    { method: "GET", path: "/info", handler: (r) => writeJson(r.res, 200, info(ctx)) },
    {
      method: "GET",
      path: "/system/df",
      handler: async (r) => {
        if (diskUsageRunning) throw new DaemonError(DaemonErrorCode.DiskUsageBusy, "a disk usage operation is already running");
        diskUsageRunning = true;
        try {
          const usage = await ctx.service.diskUsage();
          const images = usage.images.map((i) => ({ ...i, Containers: Math.max(0, i.Containers) }));
          writeJson(r.res, 200, { LayersSize: usage.layersSize, Images: images, Containers: [], Volumes: [], BuildCache: [], BuilderSize: 0 });
        } finally {
          diskUsageRunning = false;
        }
      },
    },
    { method: "POST", path: "/auth", handler: (r) => auth(ctx, r) },
    { method: "GET", path: "/events", handler: (r) => events(ctx, r) },
  ];
}
