import { randomUUID } from "node:crypto";
import { GetObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { deleteQuietly } from "./object-writes";
import { httpStatus, isConditionalConflict, isPreconditionFailed, s3IoError } from "./s3-errors";

/** Which conditional PUTs a server enforces, as {@link probeConditionalWrites} found. */
export interface ConditionalWriteSupport {
  /** `If-None-Match: *` on PutObject: of writers racing to create one key, exactly one wins. */
  ifNoneMatch: boolean;
  /** `If-Match: <etag>` on PutObject: of writers racing to replace one version, exactly one wins. */
  ifMatch: boolean;
}

/** Options of {@link probeConditionalWrites}. */
export interface ProbeOptions {
  /** A key prefix ("" or ending in "/"); the probe objects are `<prefix>.store-probe-<uuid>-*`. */
  prefix?: string;
  /** The probe objects' key stem instead (they get `-create` and `-cas` appended). */
  keyBase?: string;
  /** Writers in each race (default 8). */
  racers?: number;
  /** Probe `If-Match` too (default true); the content backend needs only `If-None-Match`. */
  ifMatch?: boolean;
}

/** An ETag no object of ours has (it is not the MD5 of anything we write, and a stale one must fail). */
const bogusEtag = "00000000000000000000000000000000";

type Outcome = { won: true; body: string; etag: string } | { won: false; refused: boolean; error: unknown };

/** An ETag as a version: without the quotes S3 puts around it (and a weak marker, if any). */
export function unquoteEtag(etag: string | undefined): string | undefined {
  return etag?.replace(/^W\//, "").replace(/^"(.*)"$/, "$1");
}

/**
 * Finds out which conditional writes a server really enforces, by racing them on fresh keys: a
 * server that ignores a header (s3rver ignores both; so do proxies that strip them) lets every
 * racer win, and a check made one writer at a time cannot tell a server that serialises writes
 * from one that enforces nothing. Races `racers` PutObject with `If-None-Match: *` on one new key,
 * then `racers` with `If-Match: <etag>` from one version (the ETag sent without quotes: Ceph RGW
 * 16 compares it literally with the stored, unquoted ETag and refuses the quoted form); each is
 * honoured when exactly one racer wins, the others are refused (412, or AWS's 409 conflict), the
 * object holds the winner's bytes and a later conditional PUT is refused too. A server that
 * rejects the header itself (501, 400) does not honour it. The probe objects are deleted.
 *
 * Only single PutObjects are probed. Ceph RGW 16 honours both headers there but silently ignores
 * them on CompleteMultipartUpload (and on DeleteObject and CopyObject), so a caller relying on a
 * condition must send it on a single PUT.
 *
 * A failure to write at all (no such bucket, access denied) is thrown as ERR_BACKEND_IO naming
 * the probe object, so a misconfigured store fails when it is opened rather than on first use.
 */
export async function probeConditionalWrites(client: S3Client, bucket: string, options: ProbeOptions = {}): Promise<ConditionalWriteSupport> {
  const base = options.keyBase ?? `${options.prefix ?? ""}.store-probe-${randomUUID()}`;
  const racers = options.racers ?? 8;
  const createKey = `${base}-create`;
  const casKey = `${base}-cas`;

  const put = async (key: string, body: string, condition: { IfNoneMatch?: string; IfMatch?: string }): Promise<Outcome> => {
    try {
      const out = await client.send(
        new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from(body), ContentLength: Buffer.byteLength(body), ...condition }),
      );
      return { won: true, body, etag: unquoteEtag(out.ETag) ?? "" };
    } catch (e) {
      return { won: false, refused: isPreconditionFailed(e) || isConditionalConflict(e), error: e };
    }
  };
  const rejectsHeader = (o: Outcome) => !o.won && !o.refused && [400, 501].includes(httpStatus(o.error) ?? 0);
  const fail = (key: string, o: Outcome): never => {
    throw s3IoError("PutObject (conditional-write probe)", bucket, key, (o as { error: unknown }).error);
  };
  const bodyOf = async (key: string): Promise<string> => {
    try {
      const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await res.Body!.transformToByteArray()).toString();
    } catch (e) {
      throw s3IoError("GetObject (conditional-write probe)", bucket, key, e);
    }
  };

  // Exactly one winner, the winner's bytes stored, the others refused. Ceph RGW 16 answers some
  // losers of an If-Match race with 500 instead of 412 (92 of 450 in one measurement, every race
  // still won exactly once), so a server error counts as a lost write, never as a win; only when
  // nobody won is it the server failing, and thrown.
  const race = async (key: string, condition: () => { IfNoneMatch?: string; IfMatch?: string }): Promise<boolean> => {
    const outcomes = await Promise.all(Array.from({ length: racers }, (_, i) => put(key, `racer ${i} ${randomUUID()}`, condition())));
    if (outcomes.some(rejectsHeader)) return false;
    const serverError = (o: Outcome) => !o.won && (httpStatus(o.error) ?? 0) >= 500;
    const odd = outcomes.find((o) => !o.won && !o.refused && !serverError(o));
    if (odd) fail(key, odd);
    const winners = outcomes.filter((o): o is Extract<Outcome, { won: true }> => o.won);
    if (winners.length === 0 && outcomes.some(serverError)) fail(key, outcomes.find(serverError)!);
    if (winners.length !== 1) return false;
    return (await bodyOf(key)) === winners[0]!.body;
  };

  try {
    const support: ConditionalWriteSupport = { ifNoneMatch: false, ifMatch: false };
    if (await race(createKey, () => ({ IfNoneMatch: "*" }))) {
      // Once it exists, a later create must be refused too (not only a racing one).
      const again = await put(createKey, "late", { IfNoneMatch: "*" });
      support.ifNoneMatch = !again.won;
    }
    if (options.ifMatch ?? true) {
      const first = await put(casKey, "base", {});
      if (!first.won) fail(casKey, first);
      const stale = await put(casKey, "stale", { IfMatch: bogusEtag });
      if (!stale.won && !stale.refused && !rejectsHeader(stale)) fail(casKey, stale);
      if (!stale.won && stale.refused) support.ifMatch = await race(casKey, () => ({ IfMatch: (first as { etag: string }).etag }));
    }
    return support;
  } finally {
    await deleteQuietly({ client, bucket }, createKey);
    if (options.ifMatch ?? true) await deleteQuietly({ client, bucket }, casKey);
  }
}
