import type { StageHint, StagedWrite } from "@store/backend";
import { createOnlyMode } from "./create-only-mode";
import { MultipartUpload, partSizeFor } from "./multipart-upload";
import { copyObject, deleteQuietly, putObject } from "./object-writes";
import type { S3Target } from "./s3-target";

/**
 * Stages content for the backend: reads `source` into part-sized buffers and publishes nothing
 * until commit(key), which the backend calls only once the digest and size have checked out.
 *
 * Hand-driven multipart rather than lib-storage's Upload, because Upload completes as soon as
 * its input ends, fusing "stream ended" with "publish"; here the two stay apart, so content is
 * invisible until verified and a bad stream leaves nothing behind (the upload is aborted).
 *
 * - Content that fits in one part is held in memory and PUT at commit: one request, no temp object.
 * - Larger content with a known destination (`hint.key`: the caller passed the expected digest)
 *   is uploaded in parts straight to that key, and commit completes the upload.
 * - Larger content whose name is learnt only at its end goes to `<prefix>tmp/…`; commit
 *   completes it there, copies it server-side to its key and deletes the temp object.
 *
 * Memory is bounded by queueSize + 1 parts (in flight, and the one filling) whatever the size.
 */
export async function stageUpload(t: S3Target, source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, hint: StageHint = {}): Promise<StagedWrite> {
  // Part buffers are reused once the server has a part: memory stays (queueSize + 1) parts for
  // good, rather than a fresh allocation per part that the GC reclaims whenever it gets to it.
  const free: Buffer[] = [];
  const release = (body: Uint8Array) => void free.push(body as Buffer);
  const buffer = (size: number) => {
    const reused = free.pop();
    return reused?.byteLength === size ? reused : Buffer.allocUnsafe(size);
  };
  let partNumber = 1;
  let current = buffer(partSizeFor(t.partSize, partNumber));
  let filled = 0;
  let upload: MultipartUpload | undefined;
  try {
    for await (const raw of source) {
      let chunk = raw;
      while (chunk.byteLength > 0) {
        // A full part ships only once more bytes prove it is not the only one: content that
        // fits one part is a single PUT, without a multipart upload.
        if (filled === current.byteLength) {
          upload ??= await MultipartUpload.start(t, hint.key !== undefined ? t.layout.objectKey(hint.key) : t.layout.tmpKey(), release);
          await upload.add(current);
          current = buffer(partSizeFor(t.partSize, ++partNumber));
          filled = 0;
        }
        // Copy, never keep the caller's chunk: a producer may reuse its buffer after yielding it.
        const n = Math.min(chunk.byteLength, current.byteLength - filled);
        current.set(chunk.subarray(0, n), filled);
        filled += n;
        chunk = chunk.subarray(n);
      }
    }
    if (upload === undefined) {
      // Small content keeps only its own bytes, not a whole part buffer, until commit.
      return singlePut(t, filled < current.byteLength / 2 ? Buffer.from(current.subarray(0, filled)) : current.subarray(0, filled));
    }
    await upload.add(current.subarray(0, filled));
    await upload.flush();
    return multipart(t, upload, hint.key !== undefined);
  } catch (e) {
    await upload?.abort();
    throw e;
  }
}

function singlePut(t: S3Target, bytes: Uint8Array): StagedWrite {
  return {
    async commit(key, options) {
      const target = t.layout.objectKey(key);
      const mode = await createOnlyMode(t, target, options);
      if (mode === "exists") return false;
      return putObject(t, target, bytes, mode === "server");
    },
    async abort() {},
  };
}

function multipart(t: S3Target, upload: MultipartUpload, atDestination: boolean): StagedWrite {
  let state: "staged" | "in-tmp" | "done" = "staged";
  const abort = async () => {
    if (state === "staged") await upload.abort();
    else if (state === "in-tmp") await deleteQuietly(t, upload.objectKey);
    state = "done";
  };
  return {
    async commit(key, options) {
      const target = t.layout.objectKey(key);
      // An upload is bound to its key: completing it elsewhere is impossible, and completing
      // it here would publish bytes under a name the caller did not choose.
      if (atDestination && target !== upload.objectKey) {
        throw new Error(`staged for ${upload.objectKey}, cannot commit to ${target}`);
      }
      const mode = await createOnlyMode(t, target, options);
      if (mode === "exists") {
        // Taken already: what was staged goes, and nothing is left to abort.
        await abort();
        return false;
      }
      if (atDestination) {
        const created = (await upload.complete(mode === "server")) === "created";
        state = "done";
        return created;
      }
      if (state === "staged") {
        await upload.complete(false);
        state = "in-tmp";
      }
      const created = await copyObject(t, upload.objectKey, target, upload.size, mode === "server");
      state = "done";
      await deleteQuietly(t, upload.objectKey);
      return created;
    },
    abort,
  };
}
