/**
 * The image config JSON as dockerd and OCI tools write it. These types describe what may be in
 * the bytes; the bytes themselves are kept verbatim (an image's ID is their sha256), and
 * anything not listed here is kept too, simply untyped.
 */

/** Docker's container.Config: the run configuration in `config` and `container_config`. */
export interface ContainerConfig {
  Hostname?: string;
  Domainname?: string;
  User?: string;
  AttachStdin?: boolean;
  AttachStdout?: boolean;
  AttachStderr?: boolean;
  ExposedPorts?: Record<string, Record<string, never>> | null;
  Tty?: boolean;
  OpenStdin?: boolean;
  StdinOnce?: boolean;
  Env?: string[] | null;
  Cmd?: string[] | null;
  Healthcheck?: HealthConfig | null;
  ArgsEscaped?: boolean;
  Image?: string;
  Volumes?: Record<string, Record<string, never>> | null;
  WorkingDir?: string;
  Entrypoint?: string[] | null;
  NetworkDisabled?: boolean;
  MacAddress?: string;
  OnBuild?: string[] | null;
  Labels?: Record<string, string> | null;
  StopSignal?: string;
  StopTimeout?: number;
  Shell?: string[] | null;
  [extra: string]: unknown;
}

export interface HealthConfig {
  Test?: string[];
  Interval?: number;
  Timeout?: number;
  StartPeriod?: number;
  StartInterval?: number;
  Retries?: number;
}

/** One build step (moby image.History; the OCI history entry has the same fields). */
export interface HistoryEntry {
  /** RFC 3339 with nanoseconds. */
  created?: string;
  author?: string;
  created_by?: string;
  comment?: string;
  /** True when the step made no layer; otherwise it belongs to the next diff ID in rootfs. */
  empty_layer?: boolean;
}

/** The layers of the root filesystem, bottom first. */
export interface RootFSConfig {
  /** "layers" (Windows once wrote "layers+base"). */
  type: string;
  /** Digests of the uncompressed layer tars. */
  diff_ids?: string[];
}

/** Docker's image config: the legacy V1 fields, plus rootfs and history (moby image.Image). */
export interface DockerImageConfig {
  /** Legacy V1 ID, from images converted from v1 registries. */
  id?: string;
  parent?: string;
  comment?: string;
  created?: string;
  container?: string;
  container_config?: ContainerConfig;
  docker_version?: string;
  author?: string;
  config?: ContainerConfig | null;
  architecture?: string;
  variant?: string;
  os?: string;
  "os.version"?: string;
  "os.features"?: string[];
  Size?: number;
  rootfs: RootFSConfig;
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

/** The OCI image config (image-spec config.md). A subset of Docker's, with a smaller `config`. */
export interface OciImageConfig {
  created?: string;
  author?: string;
  architecture: string;
  os: string;
  "os.version"?: string;
  "os.features"?: string[];
  variant?: string;
  config?: {
    User?: string;
    ExposedPorts?: Record<string, Record<string, never>>;
    Env?: string[];
    Entrypoint?: string[];
    Cmd?: string[];
    Volumes?: Record<string, Record<string, never>>;
    WorkingDir?: string;
    Labels?: Record<string, string>;
    StopSignal?: string;
    ArgsEscaped?: boolean;
  };
  rootfs: { type: "layers"; diff_ids: string[] };
  history?: HistoryEntry[];
  [extra: string]: unknown;
}

/** Either shape: what an image store accepts. */
export type ImageConfig = DockerImageConfig | OciImageConfig;
