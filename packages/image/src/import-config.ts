import type { Digest } from "@store/digest";
import { type GoTime, formatGoTime } from "./go-time";
import { goContainerConfig } from "./image-inspect";
import { type RunConfig, applyChanges } from "./change-instructions";
import { goJsonValue } from "@store/internal";

/** The host's platform in Go's names, as dockerd's import records it (containerd platforms.DefaultSpec). */
export function hostPlatform(): { architecture: string; variant?: string; os: string } {
  const arch: Record<string, string> = {
    x64: "amd64",
    ia32: "386",
    arm64: "arm64",
    arm: "arm",
    ppc64: "ppc64le",
    s390x: "s390x",
    riscv64: "riscv64",
    loong64: "loong64",
    mips: "mips",
    mipsel: "mipsle",
  };
  const architecture = arch[process.arch] ?? process.arch;
  const variant = architecture === "arm64" ? "v8" : architecture === "arm" ? "v7" : undefined;
  return { architecture, ...(variant ? { variant } : {}), os: "linux" };
}

export interface ImportConfigOptions {
  diffId: Digest;
  /** The comment (docker: `--message`, default "Imported from -"). */
  comment: string;
  /** `--change` instructions applied to an empty run config. */
  changes: readonly string[];
  created: GoTime;
}

function sortedKeys(value: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .map((k) => [k, value[k]]),
  );
}

/**
 * The config of a one-layer image as dockerd's ImportImage writes it: top-level keys sorted (moby
 * marshals the image through a map), run configs in Go's field order, `created` in UTC with
 * nanoseconds, one history entry with the comment. The bytes are the image ID's preimage.
 */
export function importConfig(options: ImportConfigOptions): Uint8Array {
  const created = formatGoTime({ ...options.created, offset: 0 });
  const config = applyChanges({} as RunConfig, options.changes);
  const image = sortedKeys({
    ...hostPlatform(),
    comment: options.comment,
    config: goContainerConfig(config),
    container_config: goContainerConfig({}),
    created,
    history: [{ created, comment: options.comment }],
    rootfs: { type: "layers", diff_ids: [options.diffId.toString()] },
  });
  return new TextEncoder().encode(goJsonValue(image, true));
}
