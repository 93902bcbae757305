import { type DockerdPeer, buildImage, importBusyboxBase } from "@store/test-peers";

/** The fixture images every dockerd test uses: a busybox import and a legacy build on it. */
export interface Fixture {
  base: string;
  layered: string;
}

/**
 * `base:1` (docker import of a busybox root) and `layered:1`, built with the legacy builder: a
 * deleted file (whiteout), a directory deleted and made again (opaque dir), hardlinks, symlinks,
 * a fifo, a setuid file, and metadata-only steps (LABEL, ENV).
 */
export async function buildFixture(peer: DockerdPeer): Promise<Fixture> {
  const base = await importBusyboxBase(peer, "base:1");
  const layered = await buildImage(
    peer,
    "layered:1",
    [
      "FROM base:1",
      "RUN mkdir -p /data/sub /data/keep && echo one > /data/sub/f && ln /data/sub/f /data/hard && ln -s sub/f /data/soft && echo k > /data/keep/k",
      "RUN rm /etc/motd && rm -rf /data/sub && mkdir /data/sub && echo two > /data/sub/g && mkfifo /data/fifo && chmod 4755 /data/sub/g && echo changed > /data/keep/k",
      'LABEL purpose="metadata-only step"',
      "ENV GREETING=hello",
    ].join("\n"),
  );
  return { base, layered };
}
