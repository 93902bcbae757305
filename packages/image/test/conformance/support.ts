import { type Digest, digestFromString } from "@store/digest";

/** A distinct diff ID per name. */
export const diff = (name: string): Digest => digestFromString(`conformance layer ${name}`);

/** Image config bytes shaped like dockerd's. */
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

export const text = (data: Uint8Array): string => Buffer.from(data).toString("utf8");
