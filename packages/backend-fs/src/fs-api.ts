/**
 * The part of `node:fs/promises` the fs driver uses. Any implementation with these calls works:
 * Node's own, or memfs's `Volume#promises` (which is how @store/backend-memory reuses the very
 * same driver in memory).
 */
export interface FsApi {
  open(path: string, flags: string, mode?: number): Promise<FsFileHandle>;
  readFile(path: string): Promise<Uint8Array>;
  mkdir(path: string, options: { recursive: true; mode: number }): Promise<unknown>;
  rename(from: string, to: string): Promise<void>;
  /** A hard link: how a create-only write publishes (it fails with EEXIST when `to` exists). */
  link(from: string, to: string): Promise<void>;
  rm(path: string, options: { recursive: boolean; force: boolean }): Promise<void>;
  unlink(path: string): Promise<void>;
  readdir(path: string): Promise<string[]>;
  stat(path: string): Promise<{ isFile(): boolean; size: number; mtime: Date }>;
  chmod(path: string, mode: number): Promise<void>;
  /**
   * Optional synchronous whole-file read, used by `read()` (the small-content path: image
   * configs, metadata). A promise-based readFile costs several thread-pool round trips per file,
   * about five times a synchronous read of a few KB; opening a store reads thousands of them.
   */
  readFileSync?(path: string): Uint8Array;
}

/** The part of a `FileHandle` the fs driver uses. */
export interface FsFileHandle {
  write(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesWritten: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number | null): Promise<{ bytesRead: number }>;
  sync(): Promise<void>;
  close(): Promise<void>;
}
