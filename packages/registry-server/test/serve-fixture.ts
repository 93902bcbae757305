import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { StoreBackend } from "@store/backend";
import { type Digest, type DigestLike, parseDigest } from "@store/digest";
import type { TestBlob, TestImage } from "@store/test-support";
import { type RegistryRequestRecord, type RegistryServer, type RegistryServerOptions, startRegistryServer } from "../src/index";

/** A registry server over `blobs` with an in-memory tag table, and what it recorded. */
export interface ServeFixture {
  server: RegistryServer;
  blobs: StoreBackend;
  /** repository → tag → target; change it freely between requests. */
  tags: Map<string, Map<string, { digest: Digest; mediaType?: string }>>;
  records: RegistryRequestRecord[];
  /** Stores an image's blobs and manifest and tags it (`withMediaType: false` leaves the type to the server). */
  addImage(repository: string, tag: string, image: TestImage, options?: { withMediaType?: boolean }): Promise<void>;
  /** Stores one blob (a manifest, an index) and tags it when `tag` is given. */
  addBlob(blob: TestBlob, repository?: string, tag?: string, options?: { withMediaType?: boolean }): Promise<void>;
  url(path: string): string;
  close(): Promise<void>;
}

/** Starts a server over `blobs`, whose tags are what the fixture's table says. */
export async function startFixture(
  blobs: StoreBackend,
  options: RegistryServerOptions & { hasDigest?: (repository: string, digest: Digest) => Promise<boolean>; noListTags?: boolean } = {},
): Promise<ServeFixture> {
  const tags: ServeFixture["tags"] = new Map();
  const records: RegistryRequestRecord[] = [];
  const server = await startRegistryServer(
    {
      blobs,
      resolveTag: async (repository, tag) => tags.get(repository)?.get(tag),
      ...(options.noListTags ? {} : { listTags: async (repository: string) => (tags.has(repository) ? [...tags.get(repository)!.keys()] : undefined) }),
      ...(options.hasDigest ? { hasDigest: options.hasDigest } : {}),
    },
    { ...options, onRequest: (r) => records.push(r) },
  );
  const fixture: ServeFixture = {
    server,
    blobs,
    tags,
    records,
    async addBlob(blob, repository, tag, opts = {}) {
      await blobs.set(blob.bytes);
      if (repository !== undefined && tag !== undefined) {
        if (!tags.has(repository)) tags.set(repository, new Map());
        const digest = parseDigest(blob.digest);
        tags.get(repository)!.set(tag, opts.withMediaType === false ? { digest } : { digest, mediaType: blob.mediaType });
      }
    },
    async addImage(repository, tag, image, opts = {}) {
      for (const b of [image.config, ...image.layers]) await blobs.set(b.bytes);
      await fixture.addBlob(image.manifest, repository, tag, opts);
    },
    url: (path) => `http://${server.address}${path}`,
    close: () => server.close(),
  };
  return fixture;
}

/** What curl got: status, headers (lowercase names; the last response's, after any 100), body. */
export interface CurlResult {
  /** curl's exit code: 0, or e.g. 18 for a body cut short. */
  exit: number;
  status: number;
  headers: Record<string, string>;
  body: Buffer;
}

const run = promisify(execFile);

/**
 * Runs curl against `url` (loopback only) with `args` (`-X PUT`, `-H 'Range: …'`), the path sent
 * exactly as written (`--path-as-is`: curl would otherwise squash `..`).
 */
export async function curl(url: string, args: string[] = []): Promise<CurlResult> {
  const dir = await mkdtemp(join(tmpdir(), "regsrv-curl-"));
  try {
    const headerFile = join(dir, "headers");
    const bodyFile = join(dir, "body");
    let exit = 0;
    try {
      await run("curl", ["-sS", "--path-as-is", "--noproxy", "*", "-D", headerFile, "-o", bodyFile, ...args, url], { maxBuffer: 1 << 20 });
    } catch (e) {
      exit = (e as { code?: number }).code ?? 1;
    }
    const rawHeaders = await readFile(headerFile, "latin1").catch(() => "");
    const blocks = rawHeaders.split(/\r\n\r\n/).filter((b) => b.startsWith("HTTP/"));
    const last = blocks.at(-1) ?? "";
    const [statusLine = "", ...lines] = last.split("\r\n");
    const headers: Record<string, string> = {};
    for (const line of lines) {
      const i = line.indexOf(":");
      if (i > 0) headers[line.slice(0, i).toLowerCase()] = line.slice(i + 1).trim();
    }
    const body = await readFile(bodyFile).catch(() => Buffer.alloc(0));
    return { exit, status: Number(statusLine.split(" ")[1] ?? 0), headers, body };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The registry error body's entries. */
export function errorsOf(body: Buffer): { code: string; message: string; detail?: unknown }[] {
  return (JSON.parse(body.toString()) as { errors: { code: string; message: string; detail?: unknown }[] }).errors;
}

/** A real backend, counting the content streams it has open (started and not yet finished). */
export function countingStreams(backend: StoreBackend): { blobs: StoreBackend; open: () => number } {
  let open = 0;
  const blobs: StoreBackend = Object.create(backend);
  blobs.getStream = async (id: DigestLike) => {
    const source = await backend.getStream(id);
    open++;
    return (async function* () {
      try {
        yield* source;
      } finally {
        open--;
      }
    })();
  };
  return { blobs, open: () => open };
}

/** Polls `condition` until it holds, failing after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
