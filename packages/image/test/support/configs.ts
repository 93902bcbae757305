import { type Digest, digestFromString } from "@store/digest";

/** A distinct diff ID per name, for building test stacks. */
export const diff = (name: string): Digest => digestFromString(`layer ${name}`);

export interface ConfigOptions {
  diffIds?: readonly Digest[];
  created?: string;
  labels?: Record<string, string>;
  comment?: string;
  history?: unknown[];
  extra?: Record<string, unknown>;
}

/** Image config bytes shaped like dockerd's (keys sorted, compact). */
export function config(options: ConfigOptions = {}): Uint8Array {
  const body: Record<string, unknown> = {
    architecture: "amd64",
    config: { Cmd: ["/bin/sh"], Env: ["PATH=/bin"], Labels: options.labels ?? null },
    created: options.created ?? "2024-05-01T10:00:00.123456789Z",
    os: "linux",
    rootfs: { type: "layers", diff_ids: (options.diffIds ?? []).map(String) },
    ...(options.comment !== undefined ? { comment: options.comment } : {}),
    ...(options.history !== undefined ? { history: options.history } : {}),
    ...options.extra,
  };
  return new TextEncoder().encode(JSON.stringify(body));
}

export const utf8 = (text: string): Uint8Array => new TextEncoder().encode(text);
