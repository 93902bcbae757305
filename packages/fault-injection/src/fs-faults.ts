import { createRequire, syncBuiltinESMExports } from "node:module";
import { resolve } from "node:path";

/** The kinds of file-system call a fault can hit: what a full or failing disk refuses. */
export type FsOp = "write" | "rename" | "fsync" | "delete";

export const fsOps: readonly FsOp[] = ["write", "rename", "fsync", "delete"];

/** What happens at the chosen call. */
export type FsFault = "EIO" | "ENOSPC" | "SIGKILL";

/** One armed plan: which calls count and which one fails. */
export interface FsFaultPlan {
  /** Only calls on paths under these directories (or on descriptors opened there) count. */
  under: readonly string[];
  /** The kinds of call that count (default all of {@link fsOps}). */
  ops?: readonly FsOp[];
  /** The 1-based index of the counted call that fails; without it calls are only counted (a dry run). */
  failAt?: number;
  /** EIO (default) or ENOSPC thrown by that call, or the process killed (SIGKILL) just before it. */
  fault?: FsFault;
  /**
   * ENOSPC only: every later write fails too, as on a disk that stays full (renames, fsyncs of
   * what is written and deletes still work, as they do there). Default: only the one call fails.
   */
  sticky?: boolean;
}

/** The call a fault hit. */
export interface FiredFault {
  n: number;
  op: FsOp;
  syscall: string;
  path: string | undefined;
  fault: FsFault;
}

/** The handle of an armed plan. */
export interface FsFaults {
  /** Counted calls so far, all kinds together (the N that {@link FsFaultPlan.failAt} names). */
  readonly count: number;
  /** Counted calls so far, per kind. */
  readonly counts: Readonly<Record<FsOp, number>>;
  /** The first call that failed, once one has. */
  readonly fired: FiredFault | undefined;
  /** Disarms the plan: every later call goes through untouched. */
  disarm(): void;
}

const require = createRequire(import.meta.url);
// The CommonJS objects behind `node:fs` and `node:fs/promises`: replacing their properties and
// then calling syncBuiltinESMExports() rebinds every ESM `import { rename } from "node:fs/promises"`
// of the process, so the stores are faulted as they are, with no option threaded through them.
const fs = require("node:fs") as Record<string, unknown>;
const fsp = require("node:fs/promises") as Record<string, unknown>;

type Fn = (...args: unknown[]) => unknown;

const messages: Record<"EIO" | "ENOSPC", [number, string]> = {
  EIO: [-5, "i/o error"],
  ENOSPC: [-28, "no space left on device"],
};

/** An error shaped as Node's own system errors are (code, errno, syscall, path). */
function systemError(code: "EIO" | "ENOSPC", syscall: string, path: string | undefined): NodeJS.ErrnoException {
  const [errno, text] = messages[code];
  const error: NodeJS.ErrnoException = new Error(`${code}: ${text}, ${syscall}${path === undefined ? "" : ` '${path}'`}`);
  Object.assign(error, { errno, code, syscall, ...(path === undefined ? {} : { path }) });
  return error;
}

class Armed implements FsFaults {
  count = 0;
  counts: Record<FsOp, number> = { write: 0, rename: 0, fsync: 0, delete: 0 };
  fired: FiredFault | undefined;
  readonly #under: string[];
  readonly #ops: ReadonlySet<FsOp>;

  constructor(readonly plan: FsFaultPlan) {
    this.#under = plan.under.map((d) => resolve(d));
    this.#ops = new Set(plan.ops ?? fsOps);
  }

  covers(path: string): boolean {
    return this.#under.some((d) => path === d || path.startsWith(`${d}/`));
  }

  /** Counts one call; the error to fail it with, if it is the chosen one (or kills the process). */
  hit(op: FsOp, syscall: string, path: string | undefined): NodeJS.ErrnoException | undefined {
    if (!this.#ops.has(op)) return undefined;
    this.count++;
    this.counts[op]++;
    const { failAt, fault = "EIO", sticky } = this.plan;
    if (failAt === undefined) return undefined;
    const stuck = sticky && fault === "ENOSPC" && this.fired !== undefined && op === "write";
    if (this.count !== failAt && !stuck) return undefined;
    this.fired ??= { n: this.count, op, syscall, path, fault };
    // SIGKILL cannot be caught or delayed: nothing after this line runs, as after a power cut.
    if (fault === "SIGKILL") process.kill(process.pid, "SIGKILL");
    return systemError(fault === "SIGKILL" ? "EIO" : fault, syscall, path);
  }

  disarm(): void {
    if (armed === this) armed = undefined;
  }
}

let armed: Armed | undefined;
/** Descriptors opened (by path) under an armed plan's directories, so fd calls on them count. */
const trackedFds = new Set<number>();

function pathOf(p: unknown): string | undefined {
  if (typeof p === "string") return resolve(p);
  if (Buffer.isBuffer(p)) return resolve(p.toString());
  if (p instanceof URL && p.protocol === "file:") return resolve(decodeURIComponent(p.pathname));
  return undefined;
}

/** Whether open flags can change the file (create, truncate, write). */
function writes(flags: unknown): boolean {
  if (flags === undefined || flags === null) return false;
  if (typeof flags === "number") return (flags & (fs.constants as Record<string, number>).O_ACCMODE!) !== 0 || (flags & 0o100) !== 0;
  return /[wa+]/.test(String(flags));
}

/** The armed plan if `path` is under it, for path calls. */
function target(path: unknown): [Armed, string] | undefined {
  const a = armed;
  const p = pathOf(path);
  return a && p !== undefined && a.covers(p) ? [a, p] : undefined;
}

const FH_OPS: Record<string, FsOp> = {
  write: "write",
  writev: "write",
  writeFile: "write",
  appendFile: "write",
  truncate: "write",
  sync: "fsync",
  datasync: "fsync",
};

/** Wraps the methods of a FileHandle opened under a plan's directories. */
function wrapHandle(handle: Record<string, unknown>, path: string): void {
  for (const [name, op] of Object.entries(FH_OPS)) {
    const original = handle[name] as Fn | undefined;
    if (typeof original !== "function") continue;
    handle[name] = function (this: unknown, ...args: unknown[]) {
      const error = armed?.hit(op, `${name === "sync" ? "fsync" : name === "datasync" ? "fdatasync" : name}`, path);
      if (error) return Promise.reject(error);
      return original.apply(this, args);
    };
  }
}

// Which exported functions count as which kind of call; `first` says which argument holds the
// path (the source for rename, link and copyFile: the destination is under the same root).
const PATH_CALLS: Record<string, FsOp> = {
  writeFile: "write",
  appendFile: "write",
  mkdir: "write",
  symlink: "write",
  link: "write",
  copyFile: "write",
  truncate: "write",
  rename: "rename",
  unlink: "delete",
  rm: "delete",
  rmdir: "delete",
};
const FD_CALLS: Record<string, FsOp> = { write: "write", writev: "write", ftruncate: "write", fsync: "fsync", fdatasync: "fsync" };

/** The path argument a path call acts on (symlink's is its second: the link made). */
function pathArg(name: string, args: unknown[]): unknown {
  return name === "symlink" || name === "link" || name === "copyFile" ? args[1] : args[0];
}

function copyProps(from: Fn, to: Fn): Fn {
  // fs.write's custom promisify shape (util.promisify(fs.write) resolves { bytesWritten, buffer })
  // lives in a symbol property of the function: keep it.
  for (const s of Object.getOwnPropertySymbols(from)) Object.defineProperty(to, s, Object.getOwnPropertyDescriptor(from, s)!);
  return to;
}

function failCallback(args: unknown[], error: Error): void {
  const cb = args.at(-1);
  if (typeof cb === "function") process.nextTick(cb as Fn, error);
}

let installed = false;

/**
 * Installs the counting wrappers over `node:fs` and `node:fs/promises` (once per process; they
 * pass every call through while no plan is armed). Call it before the stores' modules are
 * loaded: a module that captured a function at load (`promisify(fs.write)`) keeps the original.
 */
export function installFsFaults(): void {
  if (installed) return;
  installed = true;
  for (const [name, op] of Object.entries(PATH_CALLS)) {
    const promised = fsp[name] as Fn;
    fsp[name] = copyProps(promised, function (this: unknown, ...args: unknown[]) {
      const t = target(pathArg(name, args));
      const error = t?.[0].hit(op, name, t[1]);
      return error ? Promise.reject(error) : promised.apply(this, args);
    });
    for (const [key, sync] of [
      [name, false],
      [`${name}Sync`, true],
    ] as const) {
      const original = fs[key] as Fn | undefined;
      if (typeof original !== "function") continue;
      fs[key] = copyProps(original, function (this: unknown, ...args: unknown[]) {
        const t = target(pathArg(name, args));
        const error = t?.[0].hit(op, name, t[1]);
        if (error && sync) throw error;
        if (error) return failCallback(args, error);
        return original.apply(this, args);
      });
    }
  }
  for (const [name, op] of Object.entries(FD_CALLS)) {
    for (const [key, sync] of [
      [name, false],
      [`${name}Sync`, true],
    ] as const) {
      const original = fs[key] as Fn | undefined;
      if (typeof original !== "function") continue;
      fs[key] = copyProps(original, function (this: unknown, ...args: unknown[]) {
        const error = trackedFds.has(args[0] as number) ? armed?.hit(op, name, undefined) : undefined;
        if (error && sync) throw error;
        if (error) return failCallback(args, error);
        return original.apply(this, args);
      });
    }
  }
  // Opens: a writing open under the root counts as a write (creating an inode can fail on a full
  // disk), and its descriptor or handle is tracked so that its writes and fsyncs count.
  const openP = fsp.open as Fn;
  fsp.open = copyProps(openP, async function (this: unknown, ...args: unknown[]) {
    const t = target(args[0]);
    if (t && writes(args[1])) {
      const error = t[0].hit("write", "open", t[1]);
      if (error) throw error;
    }
    const handle = (await openP.apply(this, args)) as Record<string, unknown>;
    if (t) wrapHandle(handle, t[1]);
    return handle;
  });
  const openSync = fs.openSync as Fn;
  fs.openSync = copyProps(openSync, function (this: unknown, ...args: unknown[]) {
    const t = target(args[0]);
    if (t && writes(args[1])) {
      const error = t[0].hit("write", "open", t[1]);
      if (error) throw error;
    }
    const fd = openSync.apply(this, args) as number;
    if (t) trackedFds.add(fd);
    return fd;
  });
  const openCb = fs.open as Fn;
  fs.open = copyProps(openCb, function (this: unknown, ...args: unknown[]) {
    const t = target(args[0]);
    if (t && writes(typeof args[1] === "function" ? undefined : args[1])) {
      const error = t[0].hit("write", "open", t[1]);
      if (error) return failCallback(args, error);
    }
    const cb = args.at(-1) as Fn;
    return openCb.apply(this, [
      ...args.slice(0, -1),
      (error: unknown, fd: number) => {
        if (!error && t) trackedFds.add(fd);
        cb(error, fd);
      },
    ]);
  });
  const closeSync = fs.closeSync as Fn;
  fs.closeSync = copyProps(closeSync, function (this: unknown, ...args: unknown[]) {
    trackedFds.delete(args[0] as number);
    return closeSync.apply(this, args);
  });
  const closeCb = fs.close as Fn;
  fs.close = copyProps(closeCb, function (this: unknown, ...args: unknown[]) {
    trackedFds.delete(args[0] as number);
    return closeCb.apply(this, args);
  });
  syncBuiltinESMExports();
}

/**
 * Arms a plan (installing the wrappers if needed): from now on the calls it covers are counted,
 * and the `failAt`-th fails. One plan at a time; arming replaces the previous one.
 */
export function armFsFaults(plan: FsFaultPlan): FsFaults {
  installFsFaults();
  armed = new Armed(plan);
  return armed;
}
