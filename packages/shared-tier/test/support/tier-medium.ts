import type { StoreBackend } from "@store/backend";
import { createMemoryBackend } from "@store/backend-memory";
import { type S3BackendOptions, createS3Backend, createS3MetadataStore } from "@store/backend-s3";
import { type MetadataStore, createMemoryMetadataStore } from "@store/metadata";
import { type FaultProxyPeer, startFaultProxy } from "@store/test-peers";
import type { Digest } from "@store/digest";

/** One host's view of the tier: its own clients, and a switch that makes it stop mid-flight. */
export interface TierHost {
  readonly hostId: string;
  readonly blobs: StoreBackend;
  readonly metadata: MetadataStore;
  /** From now on every call this host makes fails, as if the process died (nothing it started finishes). */
  kill(): void;
}

/** A fresh, empty tier for one test: hosts on it, and what the server saw. */
export interface TierMedium {
  /** Whether the metadata store honours conditional writes (Ceph, memory) or only checks (s3rver). */
  readonly conditional: boolean;
  /** A host with clients of its own (on S3: its own S3 clients, as another machine would have). */
  host(hostId: string): Promise<TierHost>;
  /** PUTs of the content object of `digest` the server received, where a proxy counts them. */
  contentPuts(digest: Digest): number | undefined;
  close(): Promise<void>;
}

/** Wraps `target` so that every method call fails once `dead()` says so. */
function killable<T extends object>(target: T, dead: () => boolean): T {
  return new Proxy(target, {
    get(object, property) {
      const value = Reflect.get(object, property, object);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        if (dead()) return Promise.reject(new Error("host killed"));
        return value.apply(object, args);
      };
    },
  });
}

/** Memory: every host shares one backend and one (conditional) metadata store. */
export function memoryMedium(): TierMedium {
  const blobs = createMemoryBackend();
  const metadata = createMemoryMetadataStore();
  return {
    conditional: true,
    async host(hostId) {
      let dead = false;
      const isDead = () => dead;
      return { hostId, blobs: killable(blobs, isDead), metadata: killable(metadata, isDead), kill: () => (dead = true) };
    },
    contentPuts: () => undefined,
    async close() {
      await blobs.close();
      await metadata.close();
    },
  };
}

/** What an S3 peer gives the medium. */
export interface S3Peer {
  readonly endpoint: string;
  readonly bucket: string;
  readonly clientConfig: NonNullable<S3BackendOptions["clientConfig"]>;
}

let prefixes = 0;

/**
 * S3 (s3rver or Ceph RGW) through a counting proxy, under a prefix of its own: content under
 * `<prefix>blobs/`, records under `<prefix>meta/`, each host with its own clients.
 */
export async function s3Medium(peer: S3Peer, conditional: boolean): Promise<TierMedium> {
  const proxy: FaultProxyPeer = await startFaultProxy({ target: peer.endpoint });
  const prefix = `tier-${process.pid}-${++prefixes}`;
  const clientConfig = { ...peer.clientConfig, endpoint: proxy.url };
  const opened: TierHost[] = [];
  return {
    conditional,
    async host(hostId) {
      const blobs = await createS3Backend({ bucket: peer.bucket, prefix: `${prefix}/blobs`, clientConfig, conditionalCreate: conditional });
      const metadata = await createS3MetadataStore({
        bucket: peer.bucket,
        prefix: `${prefix}/meta`,
        clientConfig,
        conditionalWrites: { ifNoneMatch: conditional, ifMatch: conditional },
        allowUnconditional: true,
      });
      let dead = false;
      const isDead = () => dead;
      const host = { hostId, blobs: killable(blobs, isDead), metadata: killable(metadata, isDead), kill: () => (dead = true) };
      opened.push({ ...host, blobs, metadata });
      return host;
    },
    contentPuts: (digest) => proxy.count(`/${prefix}/blobs/content/${digest.algorithm}/${digest.encoded}`, "PUT"),
    async close() {
      for (const host of opened) {
        await host.blobs.close();
        await host.metadata.close();
      }
      await proxy.stop();
    },
  };
}
