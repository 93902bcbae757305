import type { Digest } from "@store/digest";

/** Image config bytes shaped like dockerd's, distinct per comment. */
export function imageConfig(diffIds: readonly Digest[], comment: string, created = "2024-05-01T10:00:00.123456789Z"): Uint8Array {
  return new TextEncoder().encode(
    JSON.stringify({
      architecture: "amd64",
      comment,
      config: { Cmd: ["/bin/sh"] },
      created,
      os: "linux",
      rootfs: { type: "layers", diff_ids: diffIds.map(String) },
    }),
  );
}
