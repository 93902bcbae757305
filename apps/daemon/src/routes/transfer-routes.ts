import { type ProgressEvent, goJsonString, goJsonStruct } from "@store/internal";
import { type NamedReference, parseNormalizedNamed } from "@store/reference";
import { parsePlatform } from "@store/registry";
import type { DaemonContext } from "../daemon-context";
import { DaemonError, DaemonErrorCode } from "../errors";
import { JsonStream } from "../http/json-stream";
import { boolParam } from "../http/query";
import { authConfigFrom, decodeRegistryAuth } from "../http/registry-auth";
import { readJsonBody } from "../http/request-body";
import type { RequestContext, Route } from "../http/router";
import { progressTally } from "../metrics";

const digestLike = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * `name` with the API's separate `tag` parameter applied as dockerd applies it: a digest
 * (`sha256:…`, what `docker pull name@digest` sends as `tag`) replaces any tag, a tag replaces
 * the name's own.
 */
function withTagParam(name: string, tag: string): NamedReference {
  const ref = parseNormalizedNamed(name.replace(/:$/, ""));
  if (tag === "") return ref;
  return parseNormalizedNamed(digestLike.test(tag) ? `${ref.name}@${tag}` : `${ref.name}:${tag}`);
}

/** Resolves when the response can take more, or is gone; its listeners removed either way. */
function drained(res: RequestContext["res"]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/** Writes `chunks` as the response body, waiting for the client to keep up. */
async function pipeOut(r: RequestContext, first: Uint8Array, rest: AsyncIterator<Uint8Array>): Promise<void> {
  let chunk: IteratorResult<Uint8Array> = { done: false, value: first };
  while (!chunk.done) {
    if (!r.res.write(chunk.value) && !r.res.destroyed) await drained(r.res);
    if (r.res.destroyed) throw r.signal.reason ?? new Error("client went away");
    chunk = await rest.next();
  }
  r.res.end();
}

/** `GET /images/get?names=…` and `GET /images/{name}/get`: a docker-archive, streamed. */
async function save(ctx: DaemonContext, r: RequestContext, names: string[]): Promise<void> {
  if (names.length === 0) throw new DaemonError(DaemonErrorCode.InvalidParameter, "missing parameter: names");
  const chunks = ctx.service.save(names, { signal: r.signal })[Symbol.asyncIterator]();
  // Names are resolved at the first read: a bad one is still a plain 404 here.
  const first = await chunks.next();
  r.res.writeHead(200, { "Content-Type": "application/x-tar" });
  try {
    await pipeOut(r, first.done ? new Uint8Array() : first.value, chunks);
  } catch (e) {
    // Headers are out: a cut connection is the only way left to say the archive is incomplete.
    await chunks.return?.(undefined).catch(() => undefined);
    r.res.destroy();
    if (!r.signal.aborted) throw e;
    return;
  }
  for (const name of names) ctx.events.record("save", name, { name });
}

/** `POST /images/create?fromImage=…`: a pull, as docker's progress messages. */
async function pull(ctx: DaemonContext, r: RequestContext, stream: JsonStream): Promise<void> {
  const fromImage = r.query.get("fromImage") ?? "";
  const ref = withTagParam(fromImage, r.query.get("tag") ?? "");
  // No tag and no digest: every tag of the repository (`docker pull -a`), as dockerd does.
  const allTags = ref.tag === undefined && ref.digest === undefined;
  const platformText = r.query.get("platform");
  // dockerd ignores credentials it cannot decode on a pull: anonymous, never a 400.
  const credentials = decodeRegistryAuth(header(r, "x-registry-auth"), false);
  // "Pulling from" is held back until the manifest is found, as dockerd sends it only then: a
  // missing tag or repository is still a plain 404, not an error inside a 200 stream.
  let held: ProgressEvent | undefined;
  let first = true;
  const tally = progressTally("Downloading", "Pull complete");
  const onProgress = (event: ProgressEvent) => {
    tally.see(event);
    if (first) {
      first = false;
      held = event;
      return;
    }
    if (held) stream.progress(held);
    held = undefined;
    stream.progress(event);
  };
  const results = await ctx.service.pull(ref.toString(), {
    onProgress,
    signal: r.signal,
    concurrency: ctx.options.maxConcurrentDownloads,
    ...(allTags ? { allTags } : {}),
    ...(platformText ? { platform: parsePlatform(platformText) } : {}),
    ...(credentials ? { credentials } : {}),
  });
  ctx.metrics.pulled(tally.bytes);
  ctx.metrics.extracted(tally.items);
  for (const result of results) ctx.events.record("pull", result.reference.familiar, { name: result.reference.familiar });
}

/** `POST /images/create?fromSrc=…`: an import of the request body (`-`) or of a URL. */
async function importImage(ctx: DaemonContext, r: RequestContext, stream: JsonStream): Promise<void> {
  const src = r.query.get("fromSrc") ?? "";
  const repo = r.query.get("repo") ?? "";
  const tag = repo === "" ? undefined : withTagParam(repo, r.query.get("tag") ?? "");
  if (tag?.digest) throw new DaemonError(DaemonErrorCode.InvalidParameter, "cannot import digest reference");
  let source: AsyncIterable<Uint8Array> = r.req;
  if (src !== "-") {
    let url: URL;
    try {
      url = new URL(src.includes("://") ? src : `http://${src}`);
    } catch {
      throw new DaemonError(DaemonErrorCode.InvalidParameter, `invalid fromSrc ${JSON.stringify(src)}: expected "-" or a URL`);
    }
    if (url.protocol !== "http:" && url.protocol !== "https:")
      throw new DaemonError(DaemonErrorCode.InvalidParameter, `unsupported fromSrc scheme ${url.protocol}`);
    stream.status(`Downloading from ${url.href}`);
    const res = await fetch(url, { signal: r.signal });
    if (!res.ok || !res.body) throw new DaemonError(DaemonErrorCode.InvalidParameter, `Get "${url.href}": ${res.status} ${res.statusText}`);
    source = res.body as unknown as AsyncIterable<Uint8Array>;
  }
  const message = r.query.get("message") || `Imported from ${src === "-" ? "-" : src}`;
  const result = await ctx.service.import(source, {
    message,
    changes: r.query.getAll("changes"),
    // dockerd reports "Importing" progress for a URL only; from the request body it says nothing
    // until the ID (the CLI would print a stray "Importing" line).
    ...(src === "-" ? {} : { onProgress: stream.progress }),
    signal: r.signal,
    ...(tag ? { tag } : {}),
  });
  stream.status(result.id.toString());
  ctx.metrics.extracted(1);
  ctx.events.record("import", result.id.toString(), result.tag ? { name: result.tag.familiar } : {});
}

function header(r: RequestContext, name: string): string | undefined {
  const v = r.req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** `POST /images/{name}/push?tag=`: one tag, or every tag of the repository when none is given. */
async function push(ctx: DaemonContext, r: RequestContext, stream: JsonStream): Promise<void> {
  const name = r.params[0] ?? "";
  const auth = header(r, "x-registry-auth");
  let credentials;
  if (auth) credentials = decodeRegistryAuth(auth, false);
  else {
    // Old clients send the credentials as the body (dockerd's legacy path), with its error.
    const body = await readJsonBody(r.req, 64 * 1024).catch((e: Error) => {
      throw new DaemonError(DaemonErrorCode.InvalidParameter, `Bad parameters and missing X-Registry-Auth: ${e.message}`);
    });
    if (body === undefined) throw new DaemonError(DaemonErrorCode.InvalidParameter, "Bad parameters and missing X-Registry-Auth: EOF");
    credentials = authConfigFrom(body);
  }
  const ref = withTagParam(name, r.query.get("tag") ?? "");
  const targets =
    ref.tag !== undefined || ref.digest !== undefined
      ? [ref.toString()]
      : ctx.service.references
          .referencesByName(ref)
          .filter((a) => a.ref.tag !== undefined)
          .map((a) => a.ref.toString());
  for (const target of targets.length > 0 ? targets : [ref.toString()]) {
    const tally = progressTally("Pushing", "Pushed");
    const result = await ctx.service.push(target, {
      onProgress: (event) => {
        tally.see(event);
        stream.progress(event);
      },
      signal: r.signal,
      concurrency: ctx.options.maxConcurrentUploads,
      ...(credentials ? { credentials } : {}),
    });
    stream.aux(
      goJsonStruct([
        ["Tag", goJsonString(result.tag)],
        ["Digest", goJsonString(result.digest.toString())],
        ["Size", String(result.size)],
      ]),
    );
    ctx.metrics.pushed(tally.bytes);
    ctx.events.record("push", parseNormalizedNamed(target).familiar, { name: parseNormalizedNamed(target).familiar });
  }
}

/** Runs `work` over a JSON message stream: errors before the first message are plain HTTP errors. */
async function streamed(
  ctx: DaemonContext,
  operation: string,
  r: RequestContext,
  work: (stream: JsonStream) => Promise<void>,
  startAtOnce = false,
): Promise<void> {
  const stream = new JsonStream(r.res);
  if (startAtOnce) stream.start();
  try {
    await work(stream);
    ctx.metrics.operation(operation, "ok");
    stream.end();
  } catch (e) {
    ctx.metrics.operation(operation, "error");
    if (r.res.destroyed) return; // the client left; the work undid itself
    stream.fail(e);
  }
}

/** The endpoints that move images: pull, import, push, load, save. */
export function transferRoutes(ctx: DaemonContext): Route[] {
  return [
    { method: "GET", path: "/images/get", handler: (r) => save(ctx, r, r.query.getAll("names")) },
    { method: "GET", path: /^\/images\/(.+)\/get$/, handler: (r) => save(ctx, r, [r.params[0]!]) },
    {
      method: "POST",
      path: "/images/load",
      handler: (r) =>
        // dockerd answers a load 200 at once and reports every error inside the stream.
        streamed(
          ctx,
          "load",
          r,
          async (stream) => {
            const quiet = boolParam(r.query, "quiet", true);
            // Progress is always heard (it counts the layers extracted), sent only when asked for.
            const tally = progressTally("Loading layer", "Loading layer");
            const result = await ctx.service.load(r.req, {
              signal: r.signal,
              onProgress: (event) => {
                tally.see(event);
                if (!quiet) stream.progress(event);
              },
            });
            ctx.metrics.extracted(tally.items);
            for (const image of result.images) ctx.events.record("load", image.id.toString(), image.tags[0] ? { name: image.tags[0] } : {});
            for (const m of result.messages) stream.stream(`${m}\n`);
          },
          true,
        ),
    },
    {
      method: "POST",
      path: "/images/create",
      handler: (r) =>
        r.query.get("fromImage")
          ? streamed(ctx, "pull", r, (stream) => pull(ctx, r, stream))
          : streamed(ctx, "import", r, (stream) => importImage(ctx, r, stream)),
    },
    { method: "POST", path: /^\/images\/(.+)\/push$/, handler: (r) => streamed(ctx, "push", r, (stream) => push(ctx, r, stream)) },
  ];
}
